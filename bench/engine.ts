// Engine micro-benchmark: full-size AlexNet forward and train-step time per image on the chosen TF.js
// backends (default wasm and cpu), batch 8, SGD, categorical cross-entropy. Compare with
// bench/pytorch_alexnet.py (PyTorch CPU, ~36 ms/img train step on the reference machine).
// Run: npx jiti bench/engine.ts [--backends wasm,cpu] [--batch 8] [--steps 3] [--input 227] [--ab]
// --ab (wasm): also times train steps with tfjs's own wasm kernels, interleaved with the fast paths.
// Timings on a machine shared with other work are indicative only.
import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../src/main/ml/tfjs/backend'
import type { BackendName } from '../src/shared/training'
import { createAlexNet } from '../src/main/ml/models/alexnet'
import { useWasmFastPaths } from '../src/main/ml/tfjs/kernels/wasmKernels'
import { arg } from './lib/args'

async function timeMs(fn: () => Promise<void>, reps: number): Promise<number> {
  await fn() // warm-up: kernel setup, XNNPACK operator creation, weight packing
  const t0 = performance.now()
  for (let i = 0; i < reps; i++) await fn()
  return (performance.now() - t0) / reps
}

async function main(): Promise<void> {
  const backends = arg('backends', 'wasm,cpu').split(',') as BackendName[]
  const batch = Number(arg('batch', '8'))
  const steps = Number(arg('steps', '3'))
  const inputSize = Number(arg('input', '227'))
  const numClasses = 43
  for (const name of backends) {
    const info = await initBackend({ prefer: name, logger: (l) => console.log(l) })
    const model = createAlexNet({ numClasses, inputSize, seed: 1 })
    const optimizer = tf.train.sgd(0.001)
    const x = tf.randomNormal([batch, inputSize, inputSize, 3])
    const y = tf
      .oneHot(
        tf.tensor1d(
          Array.from({ length: batch }, (_, i) => i % numClasses),
          'int32'
        ),
        numClasses
      )
      .toFloat()
    const forward = await timeMs(async () => {
      const out = model.predict(x) as tf.Tensor
      await out.data()
      out.dispose()
    }, steps)
    const step = async () => {
      const loss = optimizer.minimize(
        () =>
          tf.metrics
            .categoricalCrossentropy(y, model.apply(x, { training: true }) as tf.Tensor)
            .mean() as tf.Scalar,
        true
      )
      await loss!.data()
      loss!.dispose()
    }
    const train = await timeMs(step, steps)
    console.log(
      `${info.name}: batch ${batch} input ${inputSize}: forward ${(forward / batch).toFixed(1)} ms/img, ` +
        `train step ${(train / batch).toFixed(1)} ms/img (${steps} timed steps after 1 warm-up)`
    )
    if (info.name === 'wasm' && process.argv.includes('--ab')) {
      // Interleaved so that load from other processes hits both alike.
      const sums = { fast: 0, plain: 0 }
      for (let i = 0; i < steps; i++) {
        for (const mode of ['plain', 'fast'] as const) {
          useWasmFastPaths(mode === 'fast')
          const t0 = performance.now()
          await step()
          sums[mode] += performance.now() - t0
        }
      }
      useWasmFastPaths(true)
      const per = (ms: number) => (ms / steps / batch).toFixed(1)
      console.log(
        `wasm train step: fast paths ${per(sums.fast)} ms/img, tfjs kernels ${per(sums.plain)} ms/img`
      )
    }
    tf.dispose([x, y])
    model.dispose()
    optimizer.dispose()
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
