// Profiles one train step of the compact CNN (or a reduced AlexNet) on the current backend: time per step and
// the kernels that dominate it (tf.profile). Run: npx jiti bench/lib/profileStep.ts [--model compact|alexnet]
//   [--batch 64] [--steps 5] [--input 32] [--width 0.25] [--fc-units 512] [--backend wasm|cpu]
import * as tf from '@tensorflow/tfjs'
import type { BackendName } from '../../src/shared/training'
import { initBackend } from '../../src/main/ml/tfjs/backend'
import { createCompactCnn } from '../../src/main/ml/models/compact'
import { createAlexNet } from '../../src/main/ml/models/alexnet'
import { arg } from './args'

async function main(): Promise<void> {
  await initBackend({ prefer: arg('backend', 'wasm') as BackendName, logger: () => {} })
  const kind = arg('model', 'compact')
  const batch = Number(arg('batch', '64'))
  const steps = Number(arg('steps', '5'))
  const classes = 43
  const input = Number(arg('input', kind === 'compact' ? '32' : '227'))
  const model =
    kind === 'compact'
      ? createCompactCnn({
          numClasses: classes,
          inputSize: input,
          seed: 1,
          channels: Number(arg('channels', '32')),
          batchNorm: arg('bn', '1') === '1'
        })
      : createAlexNet({
          numClasses: classes,
          inputSize: input,
          width: Number(arg('width', '1')),
          fcUnits: Number(arg('fc-units', '4096')),
          seed: 1
        })
  const opt = tf.train.adam(1e-3)
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable)
  const x = tf.randomUniform([batch, input, input, 3], -1, 1)
  const y = tf.oneHot(tf.randomUniform([batch], 0, classes, 'int32') as tf.Tensor1D, classes)
  const step = (): void => {
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => {
        const p = model.apply(x, { training: true }) as tf.Tensor
        return tf.neg(tf.mean(tf.sum(tf.mul(y, tf.log(tf.clipByValue(p, 1e-7, 1))), 1))) as tf.Scalar
      }, vars)
      opt.applyGradients(grads as tf.NamedTensorMap as Parameters<typeof opt.applyGradients>[0])
    })
  }
  step()
  await tf.ready()
  const t0 = performance.now()
  for (let i = 0; i < steps; i++) step()
  const ms = (performance.now() - t0) / steps
  const prof = await tf.profile(() => step())
  const byKernel = new Map<string, number>()
  for (const k of prof.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + (k.kernelTimeMs as number))
  const total = [...byKernel.values()].reduce((a, b) => a + b, 0)
  const top = [...byKernel].sort((a, b) => b[1] - a[1]).slice(0, 12)
  console.log(
    JSON.stringify({
      model: kind,
      backend: tf.getBackend(),
      batch,
      input,
      msPerStep: +ms.toFixed(1),
      imagesPerSecond: +((batch * 1000) / ms).toFixed(1),
      kernelsMs: Object.fromEntries(top.map(([k, v]) => [k, +v.toFixed(1)])),
      kernelTotalMs: +total.toFixed(1)
    })
  )
}
void main()
