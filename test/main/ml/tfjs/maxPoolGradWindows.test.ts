// The SIMD max-pool gradient for windows other than 2x2 / 2 (native/maxPoolGradWindows.c: AlexNet's overlapping
// 3x3 / stride 2, SAME padding, other strides) against tfjs's cpu backend, after a ReLU so that windows tie and
// the first maximum must be the one the cpu backend picks; and with the SIMD
// kernels off, the JS loop agrees.
import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../../../../src/main/ml/tfjs/backend'
import { expectClose, values } from '../numeric'
import { useWasmFastPaths } from '../../../../src/main/ml/tfjs/kernels/wasmKernels'
import { setSimdKernelsEnabled } from '../../../../src/main/ml/tfjs/kernels/native/heap'

type Shape4 = [number, number, number, number]
const n = (s: number[]): number => s.reduce((a, b) => a * b, 1)

/** d/dx of sum(maxPool(relu(x)) * r) and of 1.5 * sum(maxPool(relu(x))) on one backend. */
async function poolGrads(
  backend: string,
  shape: Shape4,
  size: number,
  stride: number,
  pad: 'valid' | 'same'
) {
  await tf.setBackend(backend)
  const out = tf.tidy(() => {
    const x = tf.relu(tf.tensor4d(values(n(shape), 3), shape))
    const pool = (t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, size, stride, pad)
    const p = pool(x)
    const r = tf.tensor(values(p.size, 9), p.shape)
    return [
      tf.grad((t: tf.Tensor) => tf.sum(tf.mul(pool(t), r)))(x),
      tf.grad((t: tf.Tensor) => tf.sum(tf.mul(pool(t), tf.scalar(1.5))))(x)
    ]
  })
  const data = await Promise.all(out.map(async (t) => Float32Array.from(await t.data())))
  tf.dispose(out)
  return data
}

describe('wasm max-pool gradient, general windows (SIMD)', () => {
  beforeAll(async () => {
    await initBackend({ prefer: 'wasm', logger: () => {} })
    useWasmFastPaths(true)
  })

  const cases: Array<{ shape: Shape4; size: number; stride: number; pad: 'valid' | 'same' }> = [
    // AlexNet's pool1 (a smaller batch and width), pool2 and pool5 input sizes.
    { shape: [2, 27, 27, 96], size: 3, stride: 2, pad: 'valid' },
    { shape: [2, 13, 13, 256], size: 3, stride: 2, pad: 'valid' },
    // An even size: the last row and column belong to no window.
    { shape: [3, 8, 10, 8], size: 3, stride: 2, pad: 'valid' },
    // SAME padding clips the windows at the borders.
    { shape: [2, 9, 7, 12], size: 3, stride: 2, pad: 'same' },
    { shape: [2, 6, 6, 4], size: 3, stride: 1, pad: 'same' },
    // Gaps between windows, and 2x2 windows that overlap.
    { shape: [2, 10, 11, 4], size: 2, stride: 3, pad: 'valid' },
    { shape: [1, 7, 7, 8], size: 2, stride: 1, pad: 'valid' }
  ]
  for (const c of cases) {
    it(`equals the cpu backend: ${c.size}x${c.size} / ${c.stride} ${c.pad} on ${c.shape.join('x')}`, async () => {
      const w = await poolGrads('wasm', c.shape, c.size, c.stride, c.pad)
      const cpu = await poolGrads('cpu', c.shape, c.size, c.stride, c.pad)
      expectClose(w[0], cpu[0], 1e-6)
      expectClose(w[1], cpu[1], 1e-6)
      // Overlapping windows: some inputs win more than one window and get the sum of their gradients.
      if (c.stride < c.size) expect(cpu[1].reduce((a, b) => Math.max(a, b), 0)).toBeGreaterThan(1.5)
    })
  }

  it('the JS path (SIMD kernels off, the wrapper kept) gives the same gradient', async () => {
    const c = cases[0]
    const simd = await poolGrads('wasm', c.shape, c.size, c.stride, c.pad)
    setSimdKernelsEnabled(false)
    try {
      const js = await poolGrads('wasm', c.shape, c.size, c.stride, c.pad)
      expectClose(js[0], simd[0], 1e-6)
      expectClose(js[1], simd[1], 1e-6)
    } finally {
      setSimdKernelsEnabled(true)
    }
  })
})
