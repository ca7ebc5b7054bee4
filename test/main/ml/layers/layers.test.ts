// Custom layers: LRN against a direct JS reference, GroupedConv2D against split/conv/concat, gradients on
// cpu and wasm, and a save/load round trip through in-memory IO handlers.
import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../../../../src/main/ml/tfjs/backend'
import {
  GroupedConv2D,
  LocalResponseNormalization,
  registerCustomLayers
} from '../../../../src/main/ml/layers'
import { values } from '../numeric'

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length)
  let scale = 1e-12
  let worst = 0
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]))
    worst = Math.max(worst, Math.abs(a[i] - b[i]))
  }
  return worst / scale
}

/** TF's local_response_normalization written out directly (NHWC). */
function lrnReference(
  x: Float32Array,
  shape: number[],
  r: number,
  alpha: number,
  beta: number,
  bias: number
) {
  const c = shape[3]
  const out = new Float32Array(x.length)
  for (let p = 0; p < x.length / c; p++) {
    for (let k = 0; k < c; k++) {
      let sq = 0
      for (let j = Math.max(0, k - r); j <= Math.min(c - 1, k + r); j++) sq += x[p * c + j] ** 2
      out[p * c + k] = x[p * c + k] / Math.pow(bias + alpha * sq, beta)
    }
  }
  return out
}

describe('custom layers', () => {
  beforeAll(async () => {
    registerCustomLayers()
    registerCustomLayers() // idempotent
    await initBackend({ prefer: 'cpu', logger: () => {} })
  })

  it('LocalResponseNormalization matches the TF formula on cpu and wasm', async () => {
    const shape = [2, 3, 4, 7]
    // Large values and alpha so the normalisation visibly changes the output.
    const data = values(2 * 3 * 4 * 7, 3).map((v) => v * 5)
    const cfg = { depthRadius: 2, alpha: 0.05, beta: 0.75, bias: 1 }
    const expected = lrnReference(data, shape, cfg.depthRadius, cfg.alpha, cfg.beta, cfg.bias)
    expect(maxRelDiff(expected, data)).toBeGreaterThan(0.1)
    for (const backend of ['cpu', 'wasm']) {
      await initBackend({ prefer: backend as 'cpu' | 'wasm', logger: () => {} })
      const layer = new LocalResponseNormalization(cfg)
      const y = layer.apply(tf.tensor4d(data, shape as [number, number, number, number])) as tf.Tensor
      expect(maxRelDiff(await y.data(), expected)).toBeLessThan(1e-5)
    }
    await tf.setBackend('cpu')
  })

  it('LocalResponseNormalization has the same gradient on wasm as on cpu, and cpu matches finite differences', async () => {
    const shape: [number, number, number, number] = [1, 2, 3, 6]
    const data = values(36, 9).map((v) => v * 4)
    const layer = new LocalResponseNormalization({ depthRadius: 2, alpha: 0.1, beta: 0.75, bias: 1 })
    const weights = tf.tensor4d(values(36, 10), shape)
    const f = (x: tf.Tensor) => (layer.apply(x) as tf.Tensor).mul(weights).sum()
    const grad = async (backend: string) => {
      await tf.setBackend(backend)
      return (await tf.grad(f)(tf.tensor4d(data, shape)).data()) as Float32Array
    }
    const cpu = await grad('cpu')
    expect(maxRelDiff(await grad('wasm'), cpu)).toBeLessThan(1e-4)
    await tf.setBackend('cpu')
    // Central differences in float32 on a few coordinates.
    for (const i of [0, 7, 20, 35]) {
      const eps = 1e-2
      const plus = data.slice()
      const minus = data.slice()
      plus[i] += eps
      minus[i] -= eps
      const fd =
        (f(tf.tensor4d(plus, shape)).dataSync()[0] - f(tf.tensor4d(minus, shape)).dataSync()[0]) / (2 * eps)
      expect(Math.abs(fd - cpu[i])).toBeLessThan(2e-3 + 2e-2 * Math.abs(fd))
    }
  })

  it('GroupedConv2D equals a manual split / conv / concat, in the BVLC weight layout', async () => {
    const layer = new GroupedConv2D({
      filters: 6,
      kernelSize: 3,
      padding: 'same',
      groups: 2,
      activation: 'relu',
      seed: 1
    })
    const x = tf.tensor4d(values(2 * 5 * 5 * 4, 4), [2, 5, 5, 4])
    const y = layer.apply(x) as tf.Tensor
    expect(y.shape).toEqual([2, 5, 5, 6])
    const [kernel, bias] = layer.getWeights()
    expect(kernel.shape).toEqual([3, 3, 2, 6])
    expect(bias.shape).toEqual([6])
    layer.setWeights([kernel, tf.tensor1d(values(6, 5))])
    const y2 = (await (layer.apply(x) as tf.Tensor).data()) as Float32Array
    const b = tf.tensor1d(values(6, 5))
    // Group 0: input channels 0..1 with output channels 0..2; group 1: 2..3 with 3..5.
    const g0 = tf.conv2d(
      x.slice([0, 0, 0, 0], [-1, -1, -1, 2]),
      kernel.slice([0, 0, 0, 0], [-1, -1, -1, 3]) as tf.Tensor4D,
      1,
      'same'
    )
    const g1 = tf.conv2d(
      x.slice([0, 0, 0, 2], [-1, -1, -1, 2]),
      kernel.slice([0, 0, 0, 3], [-1, -1, -1, 3]) as tf.Tensor4D,
      1,
      'same'
    )
    const ref = tf.relu(tf.concat([g0, g1], 3).add(b))
    expect(maxRelDiff(y2, await ref.data())).toBeLessThan(1e-5)
    // A kernel in the ungrouped layout [3, 3, 4, 6] is refused.
    expect(() => layer.setWeights([tf.zeros([3, 3, 4, 6]), b])).toThrow()
    expect(layer.computeOutputShape([null, 9, 9, 4])).toEqual([null, 9, 9, 6])
    const valid = new GroupedConv2D({ filters: 4, kernelSize: 5, strides: 2, padding: 'valid', groups: 2 })
    expect(valid.computeOutputShape([null, 11, 11, 4])).toEqual([null, 4, 4, 4])
    expect((valid.apply(tf.zeros([1, 11, 11, 4])) as tf.Tensor).shape).toEqual([1, 4, 4, 4])
  })

  it('GroupedConv2D rejects channels that do not split into the groups', () => {
    expect(() => new GroupedConv2D({ filters: 5, kernelSize: 3, groups: 2 })).toThrow(/divisible/)
    const layer = new GroupedConv2D({ filters: 4, kernelSize: 3, groups: 2 })
    expect(() => layer.apply(tf.zeros([1, 5, 5, 3]))).toThrow(/not divisible/)
  })

  it('GroupedConv2D gradients on wasm equal cpu', async () => {
    const grads = async (backend: string) => {
      await tf.setBackend(backend)
      const layer = new GroupedConv2D({
        filters: 8,
        kernelSize: 5,
        padding: 'same',
        groups: 2,
        activation: 'relu',
        seed: 3
      })
      const x = tf.tensor4d(values(2 * 9 * 9 * 6, 6), [2, 9, 9, 6])
      layer.apply(x) // build
      const r = tf.tensor4d(values(2 * 9 * 9 * 8, 7), [2, 9, 9, 8])
      const { grads } = tf.variableGrads(() => (layer.apply(x) as tf.Tensor).mul(r).sum() as tf.Scalar)
      const out = Object.fromEntries(
        await Promise.all(
          Object.entries(grads).map(async ([k, v]) => [k.replace(/.*\//, ''), await v.data()])
        )
      )
      return out as Record<string, Float32Array>
    }
    const cpu = await grads('cpu')
    const wasm = await grads('wasm')
    expect(Object.keys(cpu).sort()).toEqual(Object.keys(wasm).sort())
    expect(Object.keys(cpu).length).toBe(2)
    for (const k of Object.keys(cpu)) expect(maxRelDiff(wasm[k], cpu[k])).toBeLessThan(1e-4)
    await tf.setBackend('cpu')
  })

  it('a model with both layers saves and reloads (memory IO) with identical outputs and plain configs', async () => {
    const input = tf.input({ shape: [8, 8, 4] })
    let h = new GroupedConv2D({
      name: 'gconv',
      filters: 6,
      kernelSize: 3,
      padding: 'same',
      groups: 2,
      activation: 'relu',
      seed: 2
    }).apply(input) as tf.SymbolicTensor
    h = new LocalResponseNormalization({
      name: 'lrn',
      depthRadius: 2,
      alpha: 2e-5,
      beta: 0.75,
      bias: 1
    }).apply(h) as tf.SymbolicTensor
    const model = tf.model({ inputs: input, outputs: h })
    let saved: tf.io.ModelArtifacts | undefined
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        saved = artifacts
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }
      })
    )
    const json = JSON.stringify(saved!.modelTopology)
    expect(json).toContain('"class_name":"GroupedConv2D"')
    expect(json).toContain('"class_name":"LocalResponseNormalization"')
    const reloaded = await tf.loadLayersModel(tf.io.fromMemory(saved!))
    const lrn = reloaded.getLayer('lrn')
    expect(lrn.getClassName()).toBe('LocalResponseNormalization')
    expect(lrn.getConfig()).toMatchObject({ depthRadius: 2, alpha: 2e-5, beta: 0.75, bias: 1 })
    const g = reloaded.getLayer('gconv')
    expect(g.getConfig()).toMatchObject({
      filters: 6,
      kernelSize: [3, 3],
      strides: [1, 1],
      padding: 'same',
      groups: 2,
      activation: 'relu',
      useBias: true
    })
    expect(g.getWeights().map((w) => w.shape)).toEqual([[3, 3, 2, 6], [6]])
    const x = tf.tensor4d(values(2 * 8 * 8 * 4, 8), [2, 8, 8, 4])
    const a = await (model.predict(x) as tf.Tensor).data()
    const b = await (reloaded.predict(x) as tf.Tensor).data()
    expect(Array.from(b)).toEqual(Array.from(a))
    expect(Math.max(...Array.from(a).map(Math.abs))).toBeGreaterThan(0)
  })
})
