// The wasm Conv2D wrapper (the forward convolution of a ReLU conv layer in a train step, which tfjs runs
// unfused: Conv2D, then the bias, then Relu) against tfjs's cpu backend: stride 1 in the SIMD kernel
// (native/conv2d.c) with SAME and VALID padding, channel tails and AlexNet-like grouped shapes; strides,
// dilations and channel counts it leaves to XNNPACK; and a conv layer's training-mode gradients. Also the
// filter gradient's three-channel block (native/convFilterGrad.c: an RGB input, as AlexNet's conv1 has).
import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../../../../src/main/ml/tfjs/backend'
import { expectClose, values } from '../numeric'
import { useWasmFastPaths } from '../../../../src/main/ml/tfjs/kernels/wasmKernels'

type Shape4 = [number, number, number, number]
const n = (s: number[]): number => s.reduce((a, b) => a * b, 1)

async function conv(
  backend: string,
  xs: Shape4,
  ws: Shape4,
  strides: number,
  pad: 'same' | 'valid',
  dilation = 1
): Promise<Float32Array> {
  await tf.setBackend(backend)
  const y = tf.tidy(() =>
    tf.conv2d(
      tf.tensor4d(values(n(xs), 21), xs),
      tf.tensor4d(values(n(ws), 22), ws),
      strides,
      pad,
      'NHWC',
      dilation
    )
  )
  const out = Float32Array.from(await y.data())
  y.dispose()
  return out
}

describe('wasm Conv2D (unfused forward convolution)', () => {
  beforeAll(async () => {
    await initBackend({ prefer: 'wasm', logger: () => {} })
    useWasmFastPaths(true)
  })

  it('is wrapped on wasm only, and useWasmFastPaths switches it back', () => {
    const fast = tf.getKernel('Conv2D', 'wasm')?.kernelFunc
    expect(fast).toBeDefined()
    useWasmFastPaths(false)
    try {
      expect(tf.getKernel('Conv2D', 'wasm')?.kernelFunc).not.toBe(fast)
    } finally {
      useWasmFastPaths(true)
    }
    expect(tf.getKernel('Conv2D', 'wasm')?.kernelFunc).toBe(fast)
    expect(tf.getKernel('Conv2D', 'cpu')?.kernelFunc).not.toBe(fast)
  })

  const cases: Array<[string, Shape4, Shape4, number, 'same' | 'valid', number?]> = [
    ['SIMD: 3x3 SAME, Cin 5, Cout 12', [2, 7, 9, 5], [3, 3, 5, 12], 1, 'same'],
    ['SIMD: 5x5 SAME, Cin 48, Cout 128 (conv2, one group)', [1, 9, 10, 48], [5, 5, 48, 128], 1, 'same'],
    ['SIMD: 3x3 SAME, Cin 16, Cout 20 (Cout % 8 = 4)', [2, 5, 6, 16], [3, 3, 16, 20], 1, 'same'],
    ['SIMD: 3x3 VALID, Cin 3, Cout 8', [3, 8, 7, 3], [3, 3, 3, 8], 1, 'valid'],
    ['SIMD: 5x5 SAME, filter larger than the image', [1, 3, 2, 4], [5, 5, 4, 8], 1, 'same'],
    ['XNNPACK: 11x11 stride 4 (conv1)', [1, 39, 39, 3], [11, 11, 3, 16], 4, 'same'],
    ['XNNPACK: Cout 6', [2, 6, 6, 4], [3, 3, 4, 6], 1, 'same'],
    ['XNNPACK: dilation 2', [1, 9, 9, 4], [3, 3, 4, 8], 1, 'same', 2]
  ]
  for (const [name, xs, ws, s, pad, dilation] of cases) {
    it(`matches cpu: ${name}`, async () => {
      const wasm = await conv('wasm', xs, ws, s, pad, dilation)
      const cpu = await conv('cpu', xs, ws, s, pad, dilation)
      expectClose(wasm, cpu, 1e-5)
    })
  }

  it("a ReLU conv layer's training-mode output and gradients match cpu (Conv2D under the tape)", async () => {
    const run = async (backend: string) => {
      await tf.setBackend(backend)
      const layer = tf.layers.conv2d({
        filters: 16,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: 'glorotUniform',
        biasInitializer: tf.initializers.constant({ value: 0.1 }),
        inputShape: [8, 8, 8]
      })
      const x = tf.tensor4d(values(2 * 8 * 8 * 8, 31), [2, 8, 8, 8])
      layer.build(x.shape)
      layer.setWeights([tf.tensor4d(values(3 * 3 * 8 * 16, 32), [3, 3, 8, 16]), tf.fill([16], 0.1)])
      const r = tf.tensor4d(values(2 * 8 * 8 * 16, 33), [2, 8, 8, 16])
      const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable)
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.mul(layer.apply(x, { training: true }) as tf.Tensor, r)) as tf.Scalar,
        vars
      )
      const out = await Promise.all(
        [value, ...vars.map((v) => grads[v.name])].map(async (t) => Float32Array.from(await t.data()))
      )
      tf.dispose([x, r, value, ...Object.values(grads), ...vars])
      return out
    }
    const wasm = await run('wasm')
    const cpu = await run('cpu')
    expect(wasm.length).toBe(3)
    for (let i = 0; i < wasm.length; i++) expectClose(wasm[i], cpu[i], 1e-5)
  })

  const filterCases: Array<[string, Shape4, Shape4, number, 'same' | 'valid']> = [
    ['conv1: 11x11 stride 4 SAME, Cin 3, Cout 96', [2, 35, 35, 3], [11, 11, 3, 96], 4, 'same'],
    ['Cin 3, Cout 12 (an 8 block and a 4 tail)', [2, 9, 8, 3], [3, 3, 3, 12], 1, 'same'],
    ['Cin 7 (a 4 block, then 3), Cout 8', [1, 7, 9, 7], [3, 3, 7, 8], 1, 'valid']
  ]
  for (const [name, xs, ws, s, pad] of filterCases) {
    it(`filter gradient matches cpu: ${name}`, async () => {
      const run = async (backend: string) => {
        await tf.setBackend(backend)
        const g = tf.tidy(() => {
          const x = tf.tensor4d(values(n(xs), 61), xs)
          const w = tf.tensor4d(values(n(ws), 62), ws)
          const y = tf.conv2d(x, w, s, pad)
          const r = tf.tensor(values(y.size, 63), y.shape)
          return tf.grad((k: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, k as tf.Tensor4D, s, pad), r)))(w)
        })
        const out = Float32Array.from(await g.data())
        g.dispose()
        return out
      }
      expectClose(await run('wasm'), await run('cpu'), 1e-5)
    })
  }
})
