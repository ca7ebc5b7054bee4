// ONNX feature-extraction benchmark: full AlexNet (BVLC layout, random weights) exported up to fc7 and run
// in onnxruntime-node, NHWC batches as the pipeline feeds them. Prints export time, model size, session
// creation time and forward ms per image (best of --reps batches after one warm-up), optionally the same
// forward in TF.js on --tf <backend> for comparison.
// Run: npx jiti bench/onnx.ts [--batch 32] [--threads 2] [--input 227] [--width 1] [--reps 3] [--spin 0] [--tf wasm]
// Timings on a machine shared with other work are indicative only.
import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../src/main/ml/tfjs/backend'
import type { BackendName } from '../src/shared/training'
import { createAlexNet, featureModel } from '../src/main/ml/models/alexnet'
import { exportOnnx } from '../src/main/ml/export/onnx'
import { OnnxRunner } from '../src/main/ml/evaluate/onnxRuntime'
import { arg } from './lib/args'

/**
 * Best wall time of `reps` runs after one warm-up, and the process CPU time (all threads) of that run:
 * on a busy machine the CPU time says what the work costs, the wall time what the other load allows.
 */
async function bestMs(fn: () => Promise<void>, reps: number): Promise<{ wall: number; cpu: number }> {
  await fn() // warm-up: weight prepacking, buffer allocation
  let best = { wall: Infinity, cpu: Infinity }
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    await fn()
    const wall = performance.now() - t0
    const c = process.cpuUsage(c0)
    if (wall < best.wall) best = { wall, cpu: (c.user + c.system) / 1000 }
  }
  return best
}

async function main(): Promise<void> {
  const batch = Number(arg('batch', '32'))
  const threads = Number(arg('threads', '2'))
  const inputSize = Number(arg('input', '227'))
  const width = Number(arg('width', '1'))
  const reps = Number(arg('reps', '3'))
  const tfBackend = arg('tf', '')
  const spin = arg('spin', '1') !== '0'

  await initBackend({ prefer: (tfBackend || 'cpu') as BackendName, logger: () => {} })
  const model = createAlexNet({ numClasses: 43, inputSize, width, seed: 1 })
  let t0 = performance.now()
  const bytes = exportOnnx(model, { outputLayer: 'fc7' })
  const exportMs = performance.now() - t0
  t0 = performance.now()
  const runner = await OnnxRunner.create(bytes, { threads, spin })
  const createMs = performance.now() - t0
  const x = new Float32Array(batch * inputSize * inputSize * 3)
  for (let i = 0; i < x.length; i++) x[i] = Math.random() * 255 - 128
  const onnxMs = await bestMs(async () => {
    await runner.run(x, batch, [inputSize, inputSize, 3])
  }, reps)
  console.log(
    `onnxruntime: AlexNet width ${width} input ${inputSize} -> fc7 (${runner.outputSize} features), batch ${batch}, ` +
      `${threads} threads${spin ? '' : ' (no spinning)'}: ${(onnxMs.wall / batch).toFixed(1)} ms/img wall (best of ${reps}), ` +
      `${(onnxMs.cpu / batch).toFixed(1)} CPU-ms/img; ` +
      `export ${exportMs.toFixed(0)} ms, ${(bytes.length / 2 ** 20).toFixed(0)} MiB, session ${createMs.toFixed(0)} ms`
  )
  await runner.dispose()

  if (tfBackend) {
    const features = featureModel(model, 'fc7')
    const xt = tf.tensor4d(x, [batch, inputSize, inputSize, 3])
    const tfMs = await bestMs(async () => {
      const out = features.predict(xt) as tf.Tensor
      await out.data()
      out.dispose()
    }, reps)
    console.log(
      `TF.js ${tf.getBackend()}: same forward ${(tfMs.wall / batch).toFixed(1)} ms/img wall, ` +
        `${(tfMs.cpu / batch).toFixed(1)} CPU-ms/img (best of ${reps})`
    )
    xt.dispose()
  }
  model.dispose()
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
