// Head training on cached features (strategy 3's whole training, and what cross-validation on cached features
// repeats): ms per 1,000 samples for a dense softmax layer of `dim` inputs and 43 classes, batch 64, Adam
// (lr 1e-3), on 1,024 random samples per timed pass, for
//   tfjs        the trainer's TF.js step before issue 15 (batchGradients + tf.train.adam, per batch, on the
//               backend the trainer picks: wasm), with its per-batch loss/accuracy read back;
//   fused-step  train/fastHead.ts as the trainer now runs it: one wasm call per batch, the batch copied in;
//   fused-epoch the same kernel over a whole epoch in one call on resident features (trainEpoch);
//   fused-trainer the trainer's loop as it runs: the shuffled feature batch source (extract.ts) feeding `step`;
//   pytorch     nn.Linear + cross_entropy + torch.optim.Adam (bench/pytorch_head.py), at the same thread count
//               as the fused kernel (1) and at 2.
// Best of `--repeats` passes after one warm-up each. Prints JSON and writes bench/head.json.
//
//   npx jiti bench/head.ts [--dims 256,4096] [--repeats 8] [--skip-tfjs]
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../src/main/ml/tfjs/backend'
import { batchGradients } from '../src/main/ml/train/gradients'
import { newFc8 } from '../src/main/ml/models/strategies'
import { FastHead } from '../src/main/ml/train/fastHead'
import { featureBatchSource, type FeatureSet } from '../src/main/ml/features/extract'
import type { Example } from '../src/main/ml/data/types'
import { arg, best } from './lib/args'

const CLASSES = 43
const BATCH = 64
const SAMPLES = 1024
const LR = 1e-3

function data(dim: number): { x: Float32Array; y: Int32Array } {
  const x = new Float32Array(SAMPLES * dim)
  const y = new Int32Array(SAMPLES)
  // Positive like fc7's ReLU outputs.
  for (let i = 0; i < x.length; i++) x[i] = Math.random()
  for (let i = 0; i < SAMPLES; i++) y[i] = Math.floor(Math.random() * CLASSES)
  return { x, y }
}

const perThousand = (ms: number): number => +((ms * 1000) / SAMPLES).toFixed(2)

async function tfjsPass(dim: number, reps: number, x: Float32Array, y: Int32Array): Promise<number> {
  const input = tf.input({ shape: [dim] })
  const head = tf.model({ inputs: input, outputs: newFc8(CLASSES, 1).apply(input) as tf.SymbolicTensor })
  const vars = head.trainableWeights.map((w) => w.read() as tf.Variable)
  const opt: tf.Optimizer = tf.train.adam(LR)
  const ms = await best(async () => {
    for (let s = 0; s < SAMPLES; s += BATCH) {
      const [loss, acc] = tf.tidy(() => {
        const xb = tf.tensor2d(x.subarray(s * dim, (s + BATCH) * dim), [BATCH, dim])
        const yb = tf.tensor1d(y.subarray(s, s + BATCH), 'int32')
        const r = batchGradients(head, vars, xb, yb, CLASSES)
        opt.applyGradients(r.grads)
        return [r.loss, r.acc]
      })
      loss.dataSync()
      acc.dataSync()
      tf.dispose([loss, acc])
    }
  }, reps)
  opt.dispose()
  head.dispose()
  return ms
}

async function fusedPasses(
  dim: number,
  reps: number,
  x: Float32Array,
  y: Int32Array
): Promise<{ step: number; epoch: number; trainer: number }> {
  const head = FastHead.create({
    dim,
    numClasses: CLASSES,
    maxBatch: BATCH,
    optimizer: 'adam',
    learningRate: LR
  })
  const kernel = new Float32Array(dim * CLASSES)
  for (let i = 0; i < kernel.length; i++) kernel[i] = (Math.random() - 0.5) * 0.02
  head.setWeights(kernel, new Float32Array(CLASSES))
  const step = await best(async () => {
    for (let s = 0; s < SAMPLES; s += BATCH) {
      // The trainer's feature batch source hands over a fresh array per batch; so does this.
      head.step(x.slice(s * dim, (s + BATCH) * dim), y.slice(s, s + BATCH), BATCH)
    }
  }, reps)
  // The trainer's loop: cached vectors by image hash, a shuffled batch source over them, one step a batch.
  const examples: Example[] = []
  const byHash = new Map<string, Float32Array>()
  for (let i = 0; i < SAMPLES; i++) {
    const hash = i.toString(16).padStart(40, '0')
    examples.push({ imageId: i, path: `${i}.ppm`, hash, label: y[i], roi: null })
    byHash.set(hash, x.slice(i * dim, (i + 1) * dim))
  }
  const features: FeatureSet = { dim, byHash, failed: [], engine: 'cache', computed: 0, dispose: () => {} }
  const source = featureBatchSource(features, examples, {
    batchSize: BATCH,
    shuffle: true,
    numClasses: CLASSES,
    seed: 1
  })
  let epochIndex = 0
  const trainer = await best(async () => {
    for await (const b of source.epoch(epochIndex++)) head.step(b.x, b.y, b.size)
  }, reps)
  head.setFeatures(x, y, SAMPLES)
  const order = Int32Array.from({ length: SAMPLES }, (_, i) => i)
  const epoch = await best(async () => {
    head.trainEpoch(order, { batchSize: BATCH })
  }, reps)
  head.dispose()
  return { step, epoch, trainer }
}

interface PyOut {
  framework: string
  threads: number
  results: { dim: number; ms_per_1000_samples: number }[]
}

function pytorch(dims: number[], threads: number, reps: number): PyOut {
  const out = execFileSync(
    '/usr/bin/python3',
    [
      join(__dirname, 'pytorch_head.py'),
      '--dims',
      dims.join(','),
      '--threads',
      String(threads),
      '--repeats',
      String(reps),
      '--batch',
      String(BATCH),
      '--classes',
      String(CLASSES),
      '--samples',
      String(SAMPLES)
    ],
    { encoding: 'utf8' }
  )
  return JSON.parse(out.trim().split('\n').at(-1)!) as PyOut
}

async function main(): Promise<void> {
  const dims = arg('dims', '256,4096').split(',').map(Number)
  const reps = Number(arg('repeats', '8'))
  const skipTfjs = process.argv.includes('--skip-tfjs')
  const info = await initBackend({ prefer: 'wasm', logger: () => {} })
  const loadBefore = loadavg().map((v) => +v.toFixed(2))
  const rows: Record<string, number | null>[] = []
  for (const dim of dims) {
    const { x, y } = data(dim)
    process.stderr.write(`dim ${dim}: fused...\n`)
    const fused = await fusedPasses(dim, reps, x, y)
    process.stderr.write(`dim ${dim}: tfjs...\n`)
    // The TF.js path takes ~0.6 s a pass at 4096: fewer passes there.
    const tfjs = skipTfjs ? null : await tfjsPass(dim, dim >= 2048 ? Math.min(reps, 3) : reps, x, y)
    rows.push({
      dim,
      tfjs_ms_per_1000: tfjs === null ? null : perThousand(tfjs),
      fused_step_ms_per_1000: perThousand(fused.step),
      fused_epoch_ms_per_1000: perThousand(fused.epoch),
      fused_trainer_ms_per_1000: perThousand(fused.trainer)
    })
  }
  process.stderr.write('PyTorch...\n')
  const py1 = pytorch(dims, 1, reps)
  const py2 = pytorch(dims, 2, reps)
  for (const row of rows) {
    row.pytorch_1_thread_ms_per_1000 = py1.results.find((r) => r.dim === row.dim)!.ms_per_1000_samples
    row.pytorch_2_threads_ms_per_1000 = py2.results.find((r) => r.dim === row.dim)!.ms_per_1000_samples
  }
  const result = {
    what: 'dense softmax head on cached features: ms per 1,000 samples (best pass)',
    classes: CLASSES,
    batch: BATCH,
    optimizer: 'adam lr 1e-3',
    samples_per_pass: SAMPLES,
    repeats: reps,
    tfjs_backend: info.name,
    fused_threads: 1,
    pytorch: py1.framework,
    cpu: `${cpus().length} x ${cpus()[0]?.model ?? '?'}`,
    load_average_before: loadBefore,
    load_average_after: loadavg().map((v) => +v.toFixed(2)),
    rows
  }
  const json = JSON.stringify(result, null, 2)
  writeFileSync(resolve(__dirname, 'head.json'), json + '\n')
  console.log(json)
}

void main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
