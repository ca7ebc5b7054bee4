// Train-step time against the number of threads, side by side with PyTorch on the same model, batch and
// threads: the studio's data-parallel step (src/main/ml/train/dataParallel.ts, as the trainer runs it on
// wasm: the batch split over N threads, the weights shared once per step, one optimizer update) against
// PyTorch's own intra-op threads (torch.set_num_threads(N), bench/pytorch_alexnet.py). Each (model, N) runs in
// its own child process so that its peak RSS is its own. Writes bench/threads.json and prints a Markdown
// table (pasted into RESULTS.md with the machine and its load).
//
//   npx jiti bench/threads.ts [--batch 32] [--threads 1,2] [--models compact,reduced,full]
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../src/main/ml/tfjs/backend'
import { createAlexNet } from '../src/main/ml/models/alexnet'
import { createCompactCnn } from '../src/main/ml/models/compact'
import { timeParallelStep } from './lib/step'
import { arg } from './lib/args'

type Size = 'full' | 'reduced' | 'compact'
const SPECS: Record<Size, { input: number; width: number; fc: number; label: string; reps: number }> = {
  full: { input: 227, width: 1, fc: 4096, label: 'AlexNet 227 px, width 1, fc 4096', reps: 2 },
  reduced: { input: 67, width: 0.25, fc: 512, label: 'AlexNet 67 px, width 0.25, fc 512', reps: 5 },
  compact: { input: 32, width: 0.5, fc: 256, label: 'compact CNN 32 px, 16-32-64 + BN, dense 256', reps: 8 }
}

interface Row {
  model: Size
  threads: number
  batch: number
  ms_per_image: number
  peak_rss_mib: number
}

/** One model at one thread count, in this process; prints one JSON line. */
async function one(size: Size, batch: number, threads: number): Promise<void> {
  await initBackend({ prefer: 'wasm', logger: () => {} })
  const s = SPECS[size]
  const model =
    size === 'compact'
      ? createCompactCnn({ numClasses: 43, inputSize: s.input, channels: 16, denseUnits: s.fc, seed: 1 })
      : createAlexNet({ numClasses: 43, inputSize: s.input, width: s.width, fcUnits: s.fc, seed: 1 })
  const n = batch * s.input * s.input * 3
  const xs = new Float32Array(n)
  for (let i = 0; i < n; i++) xs[i] = Math.random() * 2 - 1
  const labels = new Int32Array(batch).map((_, i) => i % 43)
  const ms = await timeParallelStep({
    model,
    xs,
    labels,
    side: s.input,
    threads,
    optimizer: tf.train.momentum(1e-3, 0.9),
    reps: s.reps
  })
  const row: Row = {
    model: size,
    threads,
    batch,
    ms_per_image: +(ms / batch).toFixed(3),
    peak_rss_mib: +(process.resourceUsage().maxRSS / 1024).toFixed(0)
  }
  console.log(JSON.stringify(row))
}

async function main(): Promise<void> {
  const batch = Number(arg('batch', '32'))
  const only = arg('one', '')
  if (only) return one(only as Size, batch, Number(arg('n', '1')))
  const counts = arg('threads', '1,2').split(',').map(Number)
  const sizes = arg('models', 'compact,reduced,full').split(',') as Size[]
  const jiti = resolve(__dirname, '../node_modules/jiti/lib/jiti-cli.mjs')
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ')
  const out: { ts: Row; py: { train_step_ms_per_image: number; peak_rss_mib: number } }[] = []
  for (const size of sizes) {
    for (const threads of counts) {
      process.stderr.write(`${size}, ${threads} thread(s): TF.js wasm...\n`)
      const tsOut = execFileSync(
        process.execPath,
        [jiti, __filename, '--one', size, '--n', String(threads), '--batch', String(batch)],
        { encoding: 'utf8', maxBuffer: 1 << 24 }
      )
      const ts = JSON.parse(
        tsOut
          .trim()
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .at(-1)!
      ) as Row
      process.stderr.write(`${size}, ${threads} thread(s): PyTorch...\n`)
      const pyOut = execFileSync(
        '/usr/bin/python3',
        [
          join(__dirname, 'pytorch_alexnet.py'),
          '--sizes',
          size,
          '--batch',
          String(batch),
          '--threads',
          String(threads),
          '--repeats',
          String(SPECS[size].reps),
          '--json'
        ],
        { encoding: 'utf8' }
      )
      const py = (
        JSON.parse(pyOut) as { results: { train_step_ms_per_image: number; peak_rss_mib: number }[] }
      ).results[0]
      out.push({ ts, py })
    }
  }
  writeFileSync(resolve(__dirname, 'threads.json'), `${JSON.stringify(out, null, 2)}\n`)
  const lines = [
    `Machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}; load avg 1/5/15 at the start: ${load}; batch ${batch}.`,
    '',
    '| model | threads | studio step ms/img | speed-up vs 1 thread | PyTorch step ms/img | ratio studio/PyTorch | RSS MiB studio / PyTorch |',
    '|---|---:|---:|---:|---:|---:|---:|'
  ]
  for (const { ts, py } of out) {
    const base = out.find((o) => o.ts.model === ts.model && o.ts.threads === 1)
    const speedUp = base ? (base.ts.ms_per_image / ts.ms_per_image).toFixed(2) : '—'
    lines.push(
      `| ${SPECS[ts.model].label} | ${ts.threads} | ${ts.ms_per_image} | ${speedUp} | ${py.train_step_ms_per_image} | ` +
        `${(ts.ms_per_image / py.train_step_ms_per_image).toFixed(2)} | ${ts.peak_rss_mib} / ${py.peak_rss_mib} |`
    )
  }
  console.log(lines.join('\n'))
}

void main()
