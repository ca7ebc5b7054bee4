// The wasm filter-gradient kernel against the cpu backend's, on the shapes AlexNet and the compact CNN use.
import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../../../../src/main/ml/tfjs/backend'
import { expectClose, values } from '../numeric'
import { batchGradients } from '../../../../src/main/ml/train/gradients'
import { createCompactCnn } from '../../../../src/main/ml/models/compact'
import {
  conv2DBackpropFilterWasm,
  registerWasmTrainingKernels,
  simdKernelsReady,
  useWasmFastPaths,
  withoutInputGradient
} from '../../../../src/main/ml/tfjs/kernels/wasmKernels'

type Shape4 = [number, number, number, number]

/** d/dW of sum(conv2d(x, W) * r) on the given backend, as plain numbers. */
async function filterGrad(
  backend: string,
  xShape: Shape4,
  wShape: Shape4,
  strides: number,
  pad: 'same' | 'valid'
): Promise<{ grad: Float32Array; dx: Float32Array }> {
  await tf.setBackend(backend)
  const n = (s: number[]) => s.reduce((a, b) => a * b, 1)
  const x = tf.tensor4d(values(n(xShape), 1), xShape)
  const w = tf.tensor4d(values(n(wShape), 2), wShape)
  const outShape = tf.conv2d(x, w, strides, pad).shape
  const r = tf.tensor(values(n(outShape), 3), outShape)
  const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
    tf
      .conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad)
      .mul(r)
      .sum()
  )([x, w])
  const grad = (await gw.data()) as Float32Array
  const dx = (await gx.data()) as Float32Array
  tf.dispose([x, w, r, gx, gw])
  return { grad, dx }
}

describe('wasm training kernels', () => {
  beforeAll(async () => {
    const info = await initBackend({ prefer: 'wasm', logger: () => {} })
    expect(info.name).toBe('wasm')
  })

  it('is registered for wasm only, and only once', () => {
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')?.kernelFunc).toBe(conv2DBackpropFilterWasm)
    expect(registerWasmTrainingKernels()).toEqual([])
    // The cpu kernels are still tfjs's own.
    expect(tf.getKernel('Conv2DBackpropFilter', 'cpu')?.kernelFunc).not.toBe(conv2DBackpropFilterWasm)
    expect(tf.getKernel('BatchMatMul', 'cpu')?.kernelFunc.name).toBe('batchMatMul')
  })

  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true]
  ] as const) {
    it(`BatchMatMul transposeA=${ta} transposeB=${tb} matches cpu (small and large right operand)`, async () => {
      // The large right operands (over 1 M values) take the SIMD product the first time (the second row with
      // k % 4 = 3), XNNPACK's packed one the second.
      for (const [m, k, n] of [
        [3, 5, 4],
        [6, 1100, 1000],
        [5, 1027, 1024]
      ]) {
        const run = async (backend: string) => {
          await tf.setBackend(backend)
          const a = tf.tensor2d(values(m * k, 11), ta ? [k, m] : [m, k])
          const b = tf.tensor2d(values(k * n, 12), tb ? [n, k] : [k, n])
          const c = tf.matMul(a, b, ta, tb)
          const twice = tf.matMul(a, b, ta, tb) // second use of the same right operand (packed path)
          const out = [(await c.data()) as Float32Array, (await twice.data()) as Float32Array]
          expect(c.shape).toEqual([m, n])
          tf.dispose([a, b, c, twice])
          return out
        }
        const [w1, w2] = await run('wasm')
        const [c1] = await run('cpu')
        expectClose(w1, c1)
        expectClose(w2, c1)
      }
    })
  }

  const cases: Array<[string, Shape4, Shape4, number, 'same' | 'valid']> = [
    ['3x3 stride 1 SAME', [2, 9, 9, 4], [3, 3, 4, 5], 1, 'same'],
    ['3x3 stride 1 VALID', [2, 9, 8, 3], [3, 3, 3, 6], 1, 'valid'],
    ['11x11 stride 4 SAME (conv1)', [2, 35, 35, 3], [11, 11, 3, 8], 4, 'same'],
    ['11x11 stride 4 VALID, remainder', [1, 38, 37, 3], [11, 11, 3, 4], 4, 'valid'],
    ['5x5 stride 2 SAME, odd size', [3, 13, 11, 2], [5, 5, 2, 3], 2, 'same'],
    ['1x1 stride 1', [2, 5, 5, 6], [1, 1, 6, 7], 1, 'valid'],
    // Cout a multiple of 4: the SIMD kernel, with its channel tails (Cin % 4, Cout % 8) and edge taps.
    ['SIMD: 3x3 SAME, Cin 5, Cout 12', [2, 7, 9, 5], [3, 3, 5, 12], 1, 'same'],
    ['SIMD: 3x3 SAME, Cin 3, Cout 20', [3, 8, 8, 3], [3, 3, 3, 20], 1, 'same'],
    ['SIMD: 11x11 stride 4 VALID (conv1), Cout 16', [2, 39, 39, 3], [11, 11, 3, 16], 4, 'valid'],
    ['SIMD: 5x5 stride 2 SAME, filter taller than the image', [1, 3, 4, 8], [5, 5, 8, 8], 2, 'same'],
    ['SIMD: 3x3 stride 1 VALID, Cin 16, Cout 32', [2, 6, 6, 16], [3, 3, 16, 32], 1, 'valid'],
    // Cin a multiple of 4 and stride 1: the input gradient in the SIMD convolution (rows not a multiple of
    // 4 pixels, Cin % 8 = 4, a 5x5 filter).
    ['SIMD input gradient: 3x3 SAME, Cin 12, Cout 5, 9 columns', [2, 7, 9, 12], [3, 3, 12, 5], 1, 'same'],
    ['SIMD input gradient: 5x5 SAME, Cin 8, Cout 6', [1, 6, 11, 8], [5, 5, 8, 6], 1, 'same']
  ]
  for (const [name, xs, ws, s, pad] of cases) {
    it(`matches cpu: ${name}`, async () => {
      const cpu = await filterGrad('cpu', xs, ws, s, pad)
      const wasm = await filterGrad('wasm', xs, ws, s, pad)
      expectClose(wasm.grad, cpu.grad)
      expectClose(wasm.dx, cpu.dx)
    })
  }

  it('matches cpu for a grouped convolution (2 groups, split/concat)', async () => {
    const run = async (backend: string) => {
      await tf.setBackend(backend)
      const x = tf.tensor4d(values(2 * 11 * 11 * 8, 5), [2, 11, 11, 8])
      const w = tf.tensor4d(values(5 * 5 * 4 * 6, 6), [5, 5, 4, 6])
      const r = tf.tensor4d(values(2 * 11 * 11 * 6, 7), [2, 11, 11, 6])
      const g = tf.grad((k: tf.Tensor) => {
        const xs = tf.split(x, 2, 3)
        const ks = tf.split(k as tf.Tensor4D, 2, 3)
        return tf
          .concat(
            xs.map((xi, i) => tf.conv2d(xi as tf.Tensor4D, ks[i] as tf.Tensor4D, 1, 'same')),
            3
          )
          .mul(r)
          .sum()
      })(w)
      const out = (await g.data()) as Float32Array
      tf.dispose([x, w, r, g])
      return out
    }
    expectClose(await run('wasm'), await run('cpu'))
  })

  it('useWasmFastPaths switches between tfjs kernels and the fast paths with the same results', async () => {
    await tf.setBackend('wasm')
    expect(simdKernelsReady()).toBe(true)
    const fast = await filterGrad('wasm', [2, 9, 9, 4], [3, 3, 4, 8], 1, 'same')
    const fastMatMul = tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc
    useWasmFastPaths(false)
    try {
      expect(tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc).not.toBe(fastMatMul)
      expect(simdKernelsReady()).toBe(false)
      const plain = await filterGrad('wasm', [2, 9, 9, 4], [3, 3, 4, 8], 1, 'same')
      expectClose(fast.dx, plain.dx)
      expectClose(fast.grad, plain.grad) // the SIMD kernel against the XNNPACK formulation
    } finally {
      useWasmFastPaths(true)
    }
    expect(tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc).toBe(fastMatMul)
    expect(simdKernelsReady()).toBe(true)
  })

  it('runs fused convolutions (bias, ReLU or linear; stride 1 in the SIMD kernel) as the cpu backend does', async () => {
    const cases: Array<[Shape4, Shape4, number, 'same' | 'valid', boolean, 'relu' | 'linear']> = [
      [[2, 9, 11, 3], [3, 3, 3, 8], 1, 'same', true, 'relu'],
      [[2, 7, 6, 16], [3, 3, 16, 12], 1, 'same', false, 'linear'],
      [[1, 10, 9, 8], [5, 5, 8, 4], 1, 'valid', true, 'linear'],
      [[2, 13, 13, 3], [5, 5, 3, 8], 2, 'same', true, 'relu'] // stride 2: XNNPACK
    ]
    for (const [xs, ws, strides, pad, withBias, activation] of cases) {
      const run = async (backend: string) => {
        await tf.setBackend(backend)
        const x = tf.tensor4d(
          values(
            xs.reduce((a, b) => a * b, 1),
            13
          ),
          xs
        )
        const filter = tf.tensor4d(
          values(
            ws.reduce((a, b) => a * b, 1),
            14
          ),
          ws
        )
        const bias = withBias ? tf.tensor1d(values(ws[3], 15)) : undefined
        const y = tf.fused.conv2d({ x, filter, strides, pad, bias, activation })
        const out = (await y.data()) as Float32Array
        tf.dispose([x, filter, y, ...(bias ? [bias] : [])])
        return out
      }
      const wasm = await run('wasm')
      const cpu = await run('cpu')
      expectClose(wasm, cpu)
      if (activation === 'relu') expect(Math.min(...wasm)).toBe(0)
    }
  })

  it('withoutInputGradient skips only the named filters, only inside the call', async () => {
    await tf.setBackend('wasm')
    const x = tf.tensor4d(values(2 * 6 * 6 * 4, 8), [2, 6, 6, 4])
    const w = tf.tensor4d(values(3 * 3 * 4 * 8, 9), [3, 3, 4, 8])
    const other = tf.tensor4d(values(3 * 3 * 4 * 8, 10), [3, 3, 4, 8])
    const grads = (k: tf.Tensor4D) =>
      tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same').sum()
      )([x, k])
    const [dx, dw] = grads(w)
    const [skippedDx, skippedDw, otherDx] = withoutInputGradient([w], () => [...grads(w), grads(other)[0]])
    expect(Array.from(skippedDx.dataSync()).every((v) => v === 0)).toBe(true)
    expect(Math.max(...Array.from(dx.dataSync()).map(Math.abs))).toBeGreaterThan(0)
    expectClose(skippedDw.dataSync() as Float32Array, dw.dataSync() as Float32Array)
    expect(Math.max(...Array.from(otherDx.dataSync()).map(Math.abs))).toBeGreaterThan(0)
    const [afterDx] = grads(w)
    expectClose(afterDx.dataSync() as Float32Array, dx.dataSync() as Float32Array)
    tf.dispose([x, w, other, dx, dw, skippedDx, skippedDw, otherDx, afterDx])
  })

  it("gives a compact CNN's batch gradients as the cpu backend does (all the SIMD paths at once)", async () => {
    await tf.setBackend('wasm')
    const model = createCompactCnn({ numClasses: 5, inputSize: 16, channels: 8, dropout: 0, seed: 4 })
    const vars = model.trainableWeights.map((v) => v.read() as tf.Variable)
    const x = tf.tensor4d(values(6 * 16 * 16 * 3, 12), [6, 16, 16, 3])
    const y = tf.tensor1d([0, 1, 2, 3, 4, 0], 'int32')
    const run = async (backend: string) => {
      await tf.setBackend(backend)
      const r = tf.tidy(() => batchGradients(model, vars, x, y, 5).grads)
      const out = vars.map((v) => r[v.name].dataSync() as Float32Array)
      tf.dispose(Object.values(r))
      return out
    }
    const wasm = await run('wasm')
    const cpu = await run('cpu')
    await tf.setBackend('wasm')
    wasm.forEach((g, i) => expectClose(g, cpu[i]))
    tf.dispose([x, y])
    model.dispose()
  })

  it('does not leak backend memory', async () => {
    await tf.setBackend('wasm')
    const x = tf.randomNormal([2, 19, 19, 3]) as tf.Tensor4D
    const w = tf.randomNormal([5, 5, 3, 4]) as tf.Tensor4D
    const before = tf.memory().numTensors
    const beforeBytes = tf.engine().backend.numDataIds()
    const g = tf.grad((k: tf.Tensor) => tf.conv2d(x, k as tf.Tensor4D, 2, 'same').sum())(w)
    g.dispose()
    expect(tf.memory().numTensors).toBe(before)
    expect(tf.engine().backend.numDataIds()).toBe(beforeBytes)
    tf.dispose([x, w])
  })

  it('clones by sharing the data on wasm (no copy), and the clone outlives the original', async () => {
    await tf.setBackend('wasm')
    const a = tf.tensor(values(1 << 16, 4))
    const expected = Float32Array.from(a.dataSync())
    const buffers = (): number => (tf.memory() as unknown as { numDataBuffers: number }).numDataBuffers
    const before = buffers()
    const b = a.clone()
    // A copy would add a data buffer; a shared one adds none.
    expect(buffers()).toBe(before)
    a.dispose()
    expect(buffers()).toBe(before)
    expect(Array.from(b.dataSync())).toEqual(Array.from(expected))
    b.dispose()
    expect(buffers()).toBe(before - 1)
  })
})
