// Speed report: for the full AlexNet (227 px, width 1, 4096) and the reduced models bench/accuracy.ts uses
// (AlexNet 67 px, width 0.25, 512; the compact CNN at width 0.5), per image: feature time to fc7 (or the
// compact CNN's hidden layer) in onnxruntime and in TF.js wasm, the full train step (TF.js wasm, the trainer's batchGradients with SGD +
// momentum; on one thread and split over two as the trainer runs it), head training on cached features, evaluation throughput (onnxruntime and TF.js), and peak
// RSS, each next to PyTorch on the same model and batch (bench/pytorch_alexnet.py, run right after, in the
// same command), with the FLOP/s every figure achieves. Each model runs in its own child process so that
// its peak RSS is its own. Writes bench/speed.json and prints a Markdown table (pasted into RESULTS.md).
//
//   npx jiti bench/speed.ts [--batch 32] [--threads 2] [--models full,reduced,compact]
//
// --step-only measures the train step alone, one child process per thread count (so each peak RSS is its
// own), as the trainer runs it on wasm (GradientWorker: N-1 workers beside this thread), next to PyTorch's
// step at the same thread count, and prints its own table (issue 15's "AlexNet step kernels" in RESULTS.md):
//   npx jiti bench/speed.ts --step-only [--models full] [--counts 1,2] [--batch 32] [--optimizer tfjs|heap]
// --optimizer heap steps with HeapMomentumOptimizer (src/main/ml/tfjs/kernels/momentum.ts) instead of tfjs's
// MomentumOptimizer (the default, what the trainer's makeOptimizer builds today).
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../src/main/ml/tfjs/backend'
import { batchGradients } from '../src/main/ml/train/gradients'
import { createAlexNet, featureModel } from '../src/main/ml/models/alexnet'
import { createCompactCnn } from '../src/main/ml/models/compact'
import { exportOnnx } from '../src/main/ml/export/onnx'
import { OnnxRunner } from '../src/main/ml/evaluate/onnxRuntime'
import { HeapMomentumOptimizer } from '../src/main/ml/tfjs/kernels/momentum'
import { arg, best } from './lib/args'
import { timeParallelStep } from './lib/step'

type Size = 'full' | 'reduced' | 'compact'
const SPECS: Record<Size, { input: number; width: number; fc: number; label: string }> = {
  full: { input: 227, width: 1, fc: 4096, label: 'AlexNet 227 px, width 1, fc 4096' },
  reduced: { input: 67, width: 0.25, fc: 512, label: 'AlexNet 67 px, width 0.25, fc 512' },
  compact: { input: 32, width: 0.5, fc: 256, label: 'compact CNN 32 px, 16-32-64 + BN, dense 256' }
}

/**
 * Timed runs per figure (the best one counts, after one warm-up), here and in the PyTorch script alike. This
 * host is shared and a figure moves by up to +-40 % between runs, so the small models get more runs.
 */
const REPEATS: Record<Size, number> = { full: 3, reduced: 8, compact: 8 }

/** Measures one model in this process and prints one JSON line. */
async function one(size: Size, batch: number, threads: number): Promise<void> {
  await initBackend({ prefer: 'wasm', logger: () => {} })
  const s = SPECS[size]
  const model =
    size === 'compact'
      ? createCompactCnn({ numClasses: 43, inputSize: s.input, channels: 16, denseUnits: s.fc, seed: 1 })
      : createAlexNet({ numClasses: 43, inputSize: s.input, width: s.width, fcUnits: s.fc, seed: 1 })
  const featureLayer = size === 'compact' ? 'fc1' : 'fc7'
  const reps = REPEATS[size]
  const n = batch * s.input * s.input * 3
  const xs = new Float32Array(n)
  for (let i = 0; i < n; i++) xs[i] = Math.random() * 2 - 1
  const x = tf.tensor4d(xs, [batch, s.input, s.input, 3])

  // onnxruntime: features (to fc7) and the whole model (evaluation).
  const featRunner = await OnnxRunner.create(exportOnnx(model, { outputLayer: featureLayer }), { threads })
  const onnxFeat = await best(async () => {
    await featRunner.run(xs, batch, [s.input, s.input, 3])
  }, reps)
  await featRunner.dispose()
  const fullRunner = await OnnxRunner.create(exportOnnx(model), { threads })
  const onnxEval = await best(async () => {
    await fullRunner.run(xs, batch, [s.input, s.input, 3])
  }, reps)
  await fullRunner.dispose()

  // TF.js wasm: features, evaluation, train step.
  const features = featureModel(model, featureLayer)
  const tfFeat = await best(async () => {
    const out = features.predict(x) as tf.Tensor
    await out.data()
    out.dispose()
  }, reps)
  const tfEval = await best(async () => {
    const out = tf.tidy(() => tf.argMax(model.predict(x) as tf.Tensor, 1))
    await out.data()
    out.dispose()
  }, reps)
  // The trainer's own step (batchGradients: its loss and gradients) with SGD + momentum, as PyTorch's side.
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable)
  const labels32 = Int32Array.from({ length: batch }, (_, i) => i % 43)
  const y = tf.tensor1d(labels32, 'int32')
  const opt = tf.train.momentum(1e-3, 0.9)
  const trainMs = await best(async () => {
    const loss = tf.tidy(() => {
      const r = batchGradients(model, vars, x, y, 43)
      opt.applyGradients(r.grads as Parameters<typeof opt.applyGradients>[0])
      return r.loss
    })
    await loss.data()
    loss.dispose()
  }, reps)

  // The same step split over two threads as the trainer runs it on wasm (GradientWorker: half the batch on a
  // worker thread, averaged gradients, one optimizer update here).
  const parallelMs = await timeParallelStep({
    model,
    xs,
    labels: labels32,
    side: s.input,
    threads: 2,
    optimizer: tf.train.momentum(1e-3, 0.9),
    reps,
    sameStep: true
  })

  // Head training on cached features: the new output layer alone, batch 64, Adam, 1,024 samples.
  const head = tf.sequential({
    layers: [tf.layers.dense({ inputShape: [s.fc], units: 43, activation: 'softmax' })]
  })
  const headOpt = tf.train.adam(1e-3)
  const feats = tf.randomNormal([1024, s.fc])
  const labels = tf.oneHot(tf.randomUniform([1024], 0, 43, 'int32') as tf.Tensor1D, 43).toFloat()
  const headMs = await best(async () => {
    for (let i = 0; i < 1024; i += 64) {
      const loss = headOpt.minimize(
        () =>
          tf.tidy(() =>
            tf.losses.softmaxCrossEntropy(
              labels.slice([i, 0], [64, 43]),
              head.apply(feats.slice([i, 0], [64, s.fc])) as tf.Tensor
            )
          ) as tf.Scalar,
        true
      )
      await loss!.data()
      loss!.dispose()
    }
  }, reps)

  console.log(
    JSON.stringify({
      model: size,
      batch,
      threads,
      onnx_features_ms_per_image: +(onnxFeat / batch).toFixed(2),
      tfjs_features_ms_per_image: +(tfFeat / batch).toFixed(2),
      tfjs_train_step_ms_per_image: +(trainMs / batch).toFixed(2),
      tfjs_train_step_2_threads_ms_per_image: +(parallelMs / batch).toFixed(2),
      tfjs_head_ms_per_1000_samples: +((headMs * 1000) / 1024).toFixed(2),
      onnx_evaluate_images_per_s: +((batch * 1000) / onnxEval).toFixed(1),
      tfjs_evaluate_images_per_s: +((batch * 1000) / tfEval).toFixed(1),
      peak_rss_mib: +(process.resourceUsage().maxRSS / 1024).toFixed(1),
      load_average: loadavg().map((v) => +v.toFixed(2))
    })
  )
}

/** The optimizer a step applies (see --optimizer). */
const momentum = (kind: string): tf.Optimizer =>
  kind === 'heap' ? new HeapMomentumOptimizer(1e-3, 0.9) : tf.train.momentum(1e-3, 0.9)

/** The train step alone on `threads` threads, in this process; prints one JSON line. */
async function stepOnly(size: Size, batch: number, threads: number, optimizer: string): Promise<void> {
  await initBackend({ prefer: 'wasm', logger: () => {} })
  const s = SPECS[size]
  const model =
    size === 'compact'
      ? createCompactCnn({ numClasses: 43, inputSize: s.input, channels: 16, denseUnits: s.fc, seed: 1 })
      : createAlexNet({ numClasses: 43, inputSize: s.input, width: s.width, fcUnits: s.fc, seed: 1 })
  const xs = Float32Array.from({ length: batch * s.input * s.input * 3 }, () => Math.random() * 2 - 1)
  const labels = Int32Array.from({ length: batch }, (_, i) => i % 43)
  const ms = await timeParallelStep({
    model,
    xs,
    labels,
    side: s.input,
    threads,
    optimizer: momentum(optimizer),
    reps: REPEATS[size]
  })
  console.log(
    JSON.stringify({
      model: size,
      threads,
      ms_per_image: +(ms / batch).toFixed(2),
      peak_rss_mib: +(process.resourceUsage().maxRSS / 1024).toFixed(0),
      load_average: loadavg().map((v) => +v.toFixed(2))
    })
  )
}

/** --step-only: the step per thread count, each in its own process, next to PyTorch's; prints a table. */
function stepTable(sizes: Size[], counts: number[], batch: number, optimizer: string): void {
  const jiti = resolve(__dirname, '../node_modules/jiti/lib/jiti-cli.mjs')
  const name = optimizer === 'heap' ? 'HeapMomentumOptimizer' : "tfjs's MomentumOptimizer"
  const lines = [
    `Optimizer: ${name}; batch ${batch}; load average (1/5/15 min) at each row's end.`,
    '',
    '| model | threads | studio step ms/img | PyTorch step ms/img | ratio | peak RSS MiB studio / PyTorch | ' +
      'load average |',
    '|---|---:|---:|---:|---:|---:|---|'
  ]
  for (const size of sizes) {
    for (const threads of counts) {
      process.stderr.write(`${size}, ${threads} thread(s): TF.js wasm...\n`)
      const out = execFileSync(
        process.execPath,
        [
          jiti,
          __filename,
          '--one-step',
          size,
          '--n',
          String(threads),
          '--batch',
          String(batch),
          '--optimizer',
          optimizer
        ],
        { encoding: 'utf8', maxBuffer: 1 << 24 }
      )
      const ts = JSON.parse(
        out
          .trim()
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .at(-1)!
      ) as { ms_per_image: number; peak_rss_mib: number; load_average: number[] }
      process.stderr.write(`${size}, ${threads} thread(s): PyTorch...\n`)
      const pyOut = execFileSync(
        '/usr/bin/python3',
        [
          join(__dirname, 'pytorch_alexnet.py'),
          ...['--sizes', size, '--batch', String(batch), '--threads', String(threads)],
          ...['--repeats', String(REPEATS[size]), '--json']
        ],
        { encoding: 'utf8' }
      )
      const py = (JSON.parse(pyOut) as { results: PyRow[] }).results[0]
      lines.push(
        `| ${SPECS[size].label} | ${threads} | ${ts.ms_per_image} | ${py.train_step_ms_per_image} | ` +
          `${(ts.ms_per_image / py.train_step_ms_per_image).toFixed(2)} | ${ts.peak_rss_mib} / ${py.peak_rss_mib} | ` +
          `${loadavg()
            .map((v) => v.toFixed(2))
            .join(' / ')} |`
      )
    }
  }
  console.log(lines.join('\n'))
}

interface TsRow {
  model: Size
  onnx_features_ms_per_image: number
  tfjs_features_ms_per_image: number
  tfjs_train_step_ms_per_image: number
  tfjs_train_step_2_threads_ms_per_image: number
  tfjs_head_ms_per_1000_samples: number
  onnx_evaluate_images_per_s: number
  tfjs_evaluate_images_per_s: number
  peak_rss_mib: number
  load_average: number[]
}
interface PyRow {
  model: Size
  forward_fc7_ms_per_image: number
  train_step_ms_per_image: number
  evaluate_images_per_s: number
  head_ms_per_1000_samples: number
  macs_per_image: number
  peak_rss_mib: number
}

async function main(): Promise<void> {
  const batch = Number(arg('batch', '32'))
  const threads = Number(arg('threads', '2'))
  const only = arg('one', '')
  if (only) return one(only as Size, batch, threads)
  const optimizer = arg('optimizer', 'tfjs')
  const oneStep = arg('one-step', '')
  if (oneStep) return stepOnly(oneStep as Size, batch, Number(arg('n', '1')), optimizer)
  if (process.argv.includes('--step-only')) {
    const counts = arg('counts', '1,2').split(',').map(Number)
    return stepTable(arg('models', 'full').split(',') as Size[], counts, batch, optimizer)
  }
  const sizes = arg('models', 'full,reduced,compact').split(',') as Size[]
  const jiti = resolve(__dirname, '../node_modules/jiti/lib/jiti-cli.mjs')
  const rows: { ts: TsRow; py: PyRow }[] = []
  for (const size of sizes) {
    process.stderr.write(`${size}: TF.js wasm + onnxruntime...\n`)
    const tsOut = execFileSync(
      process.execPath,
      [jiti, __filename, '--one', size, '--batch', String(batch), '--threads', String(threads)],
      { encoding: 'utf8', maxBuffer: 1 << 24 }
    )
    const ts = JSON.parse(
      tsOut
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .at(-1)!
    ) as TsRow
    process.stderr.write(`${size}: PyTorch...\n`)
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
        String(REPEATS[size]),
        '--json'
      ],
      { encoding: 'utf8' }
    )
    const py = (JSON.parse(pyOut) as { results: PyRow[] }).results[0]
    rows.push({ ts, py })
  }
  writeFileSync(resolve(__dirname, 'speed.json'), `${JSON.stringify(rows, null, 2)}\n`)

  // FLOP/s: 2 FLOP per multiply-accumulate; a train step counts as 3 forward passes (forward, input and
  // weight gradients).
  const gflops = (macs: number, msPerImage: number, passes: number): string =>
    `${((2 * passes * macs) / (msPerImage * 1e6)).toFixed(1)}`
  const lines = [
    `| model | MAC/img | metric | TF.js wasm | onnxruntime | PyTorch | ratio (studio / PyTorch) |`,
    `|---|---:|---|---:|---:|---:|---:|`
  ]
  for (const { ts, py } of rows) {
    const m = py.macs_per_image
    const label = SPECS[ts.model].label
    const mac = `${(m / 1e6).toFixed(1)} M`
    const fmt = (ms: number, passes: number): string =>
      `${+ms.toFixed(2)} ms (${gflops(m, ms, passes)} GFLOP/s)`
    lines.push(
      `| ${label} | ${mac} | features ms/img | ${fmt(ts.tfjs_features_ms_per_image, 1)} | ${fmt(ts.onnx_features_ms_per_image, 1)} | ${fmt(py.forward_fc7_ms_per_image, 1)} | ${(ts.onnx_features_ms_per_image / py.forward_fc7_ms_per_image).toFixed(2)} (onnx) |`,
      `| | | train step ms/img, 1 thread | ${fmt(ts.tfjs_train_step_ms_per_image, 3)} | | ${fmt(py.train_step_ms_per_image, 3)} | ${(ts.tfjs_train_step_ms_per_image / py.train_step_ms_per_image).toFixed(2)} |`,
      `| | | train step ms/img, 2 threads (what training uses) | ${fmt(ts.tfjs_train_step_2_threads_ms_per_image, 3)} | | ${fmt(py.train_step_ms_per_image, 3)} | ${(ts.tfjs_train_step_2_threads_ms_per_image / py.train_step_ms_per_image).toFixed(2)} |`,
      `| | | head on cached features, ms / 1,000 samples | ${ts.tfjs_head_ms_per_1000_samples} | | ${py.head_ms_per_1000_samples} | ${(ts.tfjs_head_ms_per_1000_samples / py.head_ms_per_1000_samples).toFixed(2)} |`,
      `| | | evaluation images/s | ${ts.tfjs_evaluate_images_per_s} | ${ts.onnx_evaluate_images_per_s} | ${py.evaluate_images_per_s} | ${(py.evaluate_images_per_s / ts.onnx_evaluate_images_per_s).toFixed(2)} (onnx, time ratio) |`,
      `| | | peak RSS MiB (whole process) | ${ts.peak_rss_mib} (TF.js + onnx) | | ${py.peak_rss_mib} | |`,
      `| | | load average (1/5/15 min) at the end | ${ts.load_average.join(' / ')} | | | |`
    )
  }
  console.log(lines.join('\n'))
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
