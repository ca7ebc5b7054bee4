// The two-kernel batch normalisation (batchNorm.ts) against tfjs-layers' own BatchNormalization: training
// output, moving statistics and the gradients of a loss with respect to input, gamma and beta, on the cpu and
// wasm backends; inference and serialisation unchanged.
import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../../../../src/main/ml/tfjs/backend'
import {
  BatchNormalization,
  batchNormSimdReady,
  BN_TRAIN,
  fusedBatchNormAvailable
} from '../../../../src/main/ml/tfjs/kernels/batchNorm'
import { registerCustomLayers } from '../../../../src/main/ml/layers'
import { expectClose, values } from '../numeric'

const n = (s: number[]): number => s.reduce((a, b) => a * b, 1)

interface Result {
  y: Float32Array
  dx: Float32Array
  dgamma: Float32Array
  dbeta: Float32Array
  movingMean: Float32Array
  movingVariance: Float32Array
}

/** Runs a layer in training mode on x and returns its output, its gradients and its moving statistics. */
function run(layer: tf.layers.Layer, shape: number[]): Result {
  const c = shape[shape.length - 1]
  return tf.tidy(() => {
    const x = tf.tensor(
      values(n(shape), 3).map((v, i) => v * 2 + (i % c)),
      shape
    )
    const w = tf.tensor(values(n(shape), 9), shape)
    layer.apply(tf.zeros(shape)) // builds it
    const [gamma, beta] = layer.trainableWeights.map((v) => v.read() as tf.Variable)
    gamma.assign(tf.tensor(values(c, 5).map((v) => 1 + v / 2)))
    beta.assign(tf.tensor(values(c, 6)))
    const y = layer.apply(x, { training: true }) as tf.Tensor
    const f = (xx: tf.Tensor): tf.Scalar =>
      tf.sum(tf.mul(layer.apply(xx, { training: true }) as tf.Tensor, w))
    const { grads } = tf.variableGrads(() => f(x), [gamma, beta])
    const dx = tf.grad(f)(x)
    const [movingMean, movingVariance] = layer.nonTrainableWeights.map(
      (v) => v.read().dataSync() as Float32Array
    )
    return {
      y: y.dataSync() as Float32Array,
      dx: dx.dataSync() as Float32Array,
      dgamma: grads[gamma.name].dataSync() as Float32Array,
      dbeta: grads[beta.name].dataSync() as Float32Array,
      movingMean: Float32Array.from(movingMean),
      movingVariance: Float32Array.from(movingVariance)
    }
  })
}

// Channels a multiple of 4 take the wasm SIMD passes on wasm (306 rows: more than one 256-row block, odd).
const SHAPES = [
  [4, 6, 5, 8],
  [2, 17, 9, 12],
  [3, 7, 2],
  [16, 3]
]

describe('two-kernel batch normalisation', () => {
  beforeAll(async () => {
    await initBackend({ prefer: 'wasm', logger: () => {} })
    registerCustomLayers()
  })

  for (const backend of ['cpu', 'wasm']) {
    it(`equals tfjs-layers' BatchNormalization in training on ${backend}`, async () => {
      await tf.setBackend(backend)
      expect(fusedBatchNormAvailable()).toBe(true)
      expect(batchNormSimdReady()).toBe(backend === 'wasm')
      for (const shape of SHAPES) {
        const config = { momentum: 0.9, epsilon: 1e-3 }
        const ours = run(new BatchNormalization(config), shape)
        const theirs = run(tf.layers.batchNormalization(config), shape)
        expectClose(ours.y, theirs.y, 1e-5)
        expectClose(ours.dx, theirs.dx, 1e-4)
        expectClose(ours.dgamma, theirs.dgamma, 1e-4)
        expectClose(ours.dbeta, theirs.dbeta, 1e-5)
        expectClose(ours.movingMean, theirs.movingMean, 1e-5)
        expectClose(ours.movingVariance, theirs.movingVariance, 1e-5)
      }
    })
  }

  it('runs the two kernels, not the general chain, in a train step', async () => {
    await tf.setBackend('wasm')
    const layer = new BatchNormalization({})
    const x = tf.tensor(values(2 * 4 * 4 * 3, 1), [2, 4, 4, 3])
    layer.apply(x)
    const prof = await tf.profile(() =>
      tf.grad((xx: tf.Tensor) => tf.sum(layer.apply(xx, { training: true }) as tf.Tensor))(x)
    )
    const names = prof.kernels.map((k) => k.name)
    expect(names).toContain(BN_TRAIN)
    expect(names).toContain(`${BN_TRAIN}Grad`)
    expect(names).not.toContain('FusedBatchNorm')
    tf.dispose(x)
  })

  it('infers with the moving statistics and saves as a plain BatchNormalization', async () => {
    await tf.setBackend('wasm')
    const input = tf.input({ shape: [3] })
    const out = new BatchNormalization({ name: 'bn' }).apply(input) as tf.SymbolicTensor
    const model = tf.model({ inputs: input, outputs: out })
    model
      .getLayer('bn')
      .setWeights([tf.tensor([2, 1, 1]), tf.tensor([0, 1, 0]), tf.tensor([1, 0, 0]), tf.tensor([4, 1, 1])])
    const y = (model.predict(tf.tensor([[3, 0, 0]])) as tf.Tensor).dataSync()
    // (3 - 1) / sqrt(4 + 1e-3) * 2 = 1.99975; beta 1 on channel 1.
    expect(y[0]).toBeCloseTo((2 / Math.sqrt(4.001)) * 2, 4)
    expect(y[1]).toBeCloseTo(1, 5)
    const json = model.toJSON(null, false) as unknown as { config: { layers: { class_name: string }[] } }
    expect(json.config.layers.map((l) => l.class_name)).toContain('BatchNormalization')
    const loaded = await tf.models.modelFromJSON(json as unknown as tf.io.ModelJSON)
    expect(loaded.getLayer('bn')).toBeInstanceOf(BatchNormalization)
  })
})
