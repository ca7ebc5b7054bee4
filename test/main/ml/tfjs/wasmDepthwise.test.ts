// The wasm depthwise-convolution gradient kernels (wasmDepthwiseKernels.ts) against the cpu backend's, and one
// train step of a MobileNetV3 (depthwise convolutions throughout) on wasm with the cpu backend's gradients.
import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../../../../src/main/ml/tfjs/backend'
import { expectClose, values } from '../numeric'
import { batchGradients, dropoutLayers, reseedDropout } from '../../../../src/main/ml/train/gradients'
import { createTorchvisionModel } from '../../../../src/main/ml/models/torchvision'
import {
  depthwiseConv2dNativeBackpropFilterWasm,
  depthwiseConv2dNativeBackpropInputWasm,
  registerWasmDepthwiseKernels
} from '../../../../src/main/ml/tfjs/kernels/wasmDepthwiseKernels'

type Shape4 = [number, number, number, number]
type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]]

const size = (s: number[]) => s.reduce((a, b) => a * b, 1)

/** d/dx and d/dW of sum(depthwiseConv2d(x, W) * r) on the given backend (fused adds a bias and a ReLU). */
async function depthwiseGrads(
  backend: string,
  xShape: Shape4,
  wShape: Shape4,
  strides: number,
  pad: Pad,
  fused = false
): Promise<{ dx: Float32Array; dw: Float32Array }> {
  await tf.setBackend(backend)
  const x = tf.tensor4d(values(size(xShape), 1), xShape)
  const w = tf.tensor4d(values(size(wShape), 2), wShape)
  const bias = tf.tensor1d(values(wShape[2] * wShape[3], 4))
  const conv = (a: tf.Tensor4D, b: tf.Tensor4D) =>
    fused
      ? // tfjs's fused op types no explicit padding (the tests pass it 'same' only).
        tf.fused.depthwiseConv2d({ x: a, filter: b, strides, pad: pad as 'same', bias, activation: 'relu' })
      : tf.depthwiseConv2d(a, b, strides, pad)
  const outShape = tf.tidy(() => conv(x, w).shape)
  const r = tf.tensor(values(size(outShape), 3), outShape)
  const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
    conv(a as tf.Tensor4D, b as tf.Tensor4D)
      .mul(r)
      .sum()
  )([x, w])
  const dx = (await gx.data()) as Float32Array
  const dw = (await gw.data()) as Float32Array
  tf.dispose([x, w, bias, r, gx, gw])
  return { dx, dw }
}

describe('wasm depthwise convolution gradients', () => {
  beforeAll(async () => {
    const info = await initBackend({ prefer: 'wasm', logger: () => {} })
    expect(info.name).toBe('wasm')
  })

  it('is registered for wasm only, and only once', () => {
    expect(tf.getKernel('DepthwiseConv2dNativeBackpropInput', 'wasm')?.kernelFunc).toBe(
      depthwiseConv2dNativeBackpropInputWasm
    )
    expect(tf.getKernel('DepthwiseConv2dNativeBackpropFilter', 'wasm')?.kernelFunc).toBe(
      depthwiseConv2dNativeBackpropFilterWasm
    )
    expect(registerWasmDepthwiseKernels()).toEqual([])
    expect(tf.getKernel('DepthwiseConv2dNativeBackpropInput', 'cpu')?.kernelFunc).not.toBe(
      depthwiseConv2dNativeBackpropInputWasm
    )
  })

  // [name, x shape, filter shape [kh, kw, C, M], stride, pad]
  const cases: Array<[string, Shape4, Shape4, number, Pad]> = [
    ['k3 s1 same M1', [2, 9, 11, 5], [3, 3, 5, 1], 1, 'same'],
    ['k3 s2 same M1 (MobileNet downsampling)', [2, 13, 9, 6], [3, 3, 6, 1], 2, 'same'],
    ['k3 s2 valid M2', [2, 11, 12, 3], [3, 3, 3, 2], 2, 'valid'],
    ['k5 s1 valid M2', [2, 10, 9, 4], [5, 5, 4, 2], 1, 'valid'],
    ['k5 s2 same M1 (EfficientNet)', [2, 15, 14, 7], [5, 5, 7, 1], 2, 'same'],
    ['k5 s2 same M2', [1, 8, 8, 3], [5, 5, 3, 2], 2, 'same'],
    ['k3 s1 valid M1, 1 channel', [2, 7, 5, 1], [3, 3, 1, 1], 1, 'valid'],
    [
      'k3 s2 explicit padding M1 (torchvision ZeroPadding2D + valid)',
      [2, 9, 10, 4],
      [3, 3, 4, 1],
      2,
      [
        [0, 0],
        [1, 2],
        [2, 0],
        [0, 0]
      ]
    ],
    ['k5 s2 valid M1 with a remainder', [2, 12, 12, 4], [5, 5, 4, 1], 2, 'valid']
  ]
  for (const [name, xShape, wShape, strides, pad] of cases) {
    it(`matches cpu: ${name}`, async () => {
      const wasm = await depthwiseGrads('wasm', xShape, wShape, strides, pad)
      const cpu = await depthwiseGrads('cpu', xShape, wShape, strides, pad)
      await tf.setBackend('wasm')
      expectClose(wasm.dx, cpu.dx)
      expectClose(wasm.dw, cpu.dw)
    })
  }

  it('matches cpu through the fused depthwise convolution (bias, ReLU)', async () => {
    const args: [Shape4, Shape4, number, Pad, boolean] = [[2, 10, 10, 8], [3, 3, 8, 1], 2, 'same', true]
    const wasm = await depthwiseGrads('wasm', ...args)
    const cpu = await depthwiseGrads('cpu', ...args)
    await tf.setBackend('wasm')
    expectClose(wasm.dx, cpu.dx)
    expectClose(wasm.dw, cpu.dw)
  })

  it('refuses dilations other than 1, saying so', async () => {
    await tf.setBackend('wasm')
    const dy = tf.zeros([1, 4, 4, 2])
    const filter = tf.zeros([3, 3, 2, 1])
    const x = tf.zeros([1, 8, 8, 2])
    const attrs = { strides: 1, pad: 'valid', dilations: 2 }
    expect(() =>
      tf.engine().runKernel(
        'DepthwiseConv2dNativeBackpropInput',
        { dy, filter },
        {
          ...attrs,
          inputShape: [1, 8, 8, 2]
        }
      )
    ).toThrow(/dilations of 1 only/)
    expect(() =>
      tf.engine().runKernel(
        'DepthwiseConv2dNativeBackpropFilter',
        { x, dy },
        {
          ...attrs,
          filterShape: [3, 3, 2, 1]
        }
      )
    ).toThrow(/dilations of 1 only/)
    tf.dispose([dy, filter, x])
  })

  it('does not leak backend memory', async () => {
    await tf.setBackend('wasm')
    const x = tf.tensor4d(values(2 * 9 * 9 * 4, 5), [2, 9, 9, 4])
    const w = tf.tensor4d(values(3 * 3 * 4 * 2, 6), [3, 3, 4, 2])
    const before = tf.memory().numTensors
    const beforeIds = tf.engine().backend.numDataIds()
    const gs = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same').sum()
    )([x, w])
    tf.dispose(gs)
    expect(tf.memory().numTensors).toBe(before)
    expect(tf.engine().backend.numDataIds()).toBe(beforeIds)
    tf.dispose([x, w])
  })

  it("trains mobilenet_v3_small on wasm for a step, with the cpu backend's gradients", async () => {
    await tf.setBackend('wasm')
    const tv = createTorchvisionModel('mobilenet_v3_small', { numClasses: 5, inputSize: 64, seed: 1 })
    const model = tv.model
    const vars = model.trainableWeights.map((v) => v.read() as tf.Variable)
    const dropout = dropoutLayers(model)
    const batch = 4
    const x = tf.tensor4d(values(batch * 64 * 64 * 3, 21), [batch, 64, 64, 3])
    const y = tf.tensor1d([0, 1, 2, 3], 'int32')
    const grads = async (backend: string) => {
      await tf.setBackend(backend)
      reseedDropout(dropout, 1, 0) // the same dropout masks on both backends
      const r = tf.tidy(() => {
        const { loss, acc, grads } = batchGradients(model, vars, x, y, 5)
        return { loss, acc, grads }
      })
      const loss = (await r.loss.data())[0]
      const out = vars.map((v) => r.grads[v.name].dataSync() as Float32Array)
      tf.dispose([r.loss, r.acc, ...Object.values(r.grads)])
      return { loss, out }
    }
    const wasm = await grads('wasm')
    const cpu = await grads('cpu')
    await tf.setBackend('wasm')
    expect(Number.isFinite(wasm.loss)).toBe(true)
    expect(Math.abs(wasm.loss - cpu.loss)).toBeLessThan(1e-4 * Math.max(1, Math.abs(cpu.loss)))
    let dot = 0
    let nw = 0
    let nc = 0
    wasm.out.forEach((g, i) => {
      const c = cpu.out[i]
      for (let k = 0; k < g.length; k++) {
        dot += g[k] * c[k]
        nw += g[k] * g[k]
        nc += c[k] * c[k]
      }
    })
    expect(nc).toBeGreaterThan(0)
    expect(dot / Math.sqrt(nw * nc)).toBeGreaterThan(0.9999)

    // One optimizer step on wasm moves the weights and keeps them finite.
    const depthwise = model.layers.find((l) => l.getClassName() === 'DepthwiseConv2D')!
    const kernel = depthwise.getWeights()[0]
    const before = kernel.dataSync().slice()
    const optimizer = tf.train.sgd(0.1)
    reseedDropout(dropout, 1, 1)
    const cost = optimizer.minimize(
      () => {
        const p = model.apply(x, { training: true }) as tf.Tensor
        return tf.losses.softmaxCrossEntropy(tf.oneHot(y, 5), tf.log(tf.clipByValue(p, 1e-7, 1))) as tf.Scalar
      },
      true,
      vars
    )!
    expect(Number.isFinite(cost.dataSync()[0])).toBe(true)
    const after = depthwise.getWeights()[0].dataSync()
    expect(after.every(Number.isFinite)).toBe(true)
    expect(after.some((v, i) => v !== before[i])).toBe(true)
    tf.dispose([cost, x, y])
    optimizer.dispose()
    tv.dispose()
  })
})
