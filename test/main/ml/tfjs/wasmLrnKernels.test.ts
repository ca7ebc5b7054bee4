// The wasm LRN and LRNGrad SIMD kernels (native/lrn.c) against tfjs's cpu backend: AlexNet's LRN (radius 2,
// beta 0.75) on its channel counts, the clipped windows at the first and last channels, other radii and
// betas, and the cases that stay on tfjs's kernel (channels not a multiple of 4, another beta).
import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../../../../src/main/ml/tfjs/backend'
import { expectClose, values } from '../numeric'
import { useWasmFastPaths } from '../../../../src/main/ml/tfjs/kernels/wasmKernels'
import { ALEXNET_LRN } from '../../../../src/main/ml/layers'

type Shape4 = [number, number, number, number]
const n = (s: number[]): number => s.reduce((a, b) => a * b, 1)

/** LRN(x) and d/dx of sum(LRN(x) * r) on one backend. */
async function lrnAndGrad(
  backend: string,
  shape: Shape4,
  p: { depthRadius: number; bias: number; alpha: number; beta: number },
  scale: number
): Promise<{ y: Float32Array; dx: Float32Array }> {
  await tf.setBackend(backend)
  const [y, dx] = tf.tidy(() => {
    const x = tf.mul(tf.tensor4d(values(n(shape), 5), shape), scale)
    const r = tf.tensor4d(values(n(shape), 6), shape)
    const f = (t: tf.Tensor) =>
      tf.localResponseNormalization(t as tf.Tensor4D, p.depthRadius, p.bias, p.alpha, p.beta)
    return [f(x), tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), r)))(x)]
  })
  const out = { y: Float32Array.from(await y.data()), dx: Float32Array.from(await dx.data()) }
  tf.dispose([y, dx])
  return out
}

/** Largest |a - b| / |b| over the values whose |b| is at least 1e-3 of the largest. */
function worstRelative(a: Float32Array, b: Float32Array): number {
  let max = 0
  for (const v of b) max = Math.max(max, Math.abs(v))
  let worst = 0
  for (let i = 0; i < a.length; i++) {
    if (Math.abs(b[i]) >= 1e-3 * max) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.abs(b[i]))
  }
  return worst
}

describe('wasm LRN / LRNGrad SIMD kernels', () => {
  beforeAll(async () => {
    await initBackend({ prefer: 'wasm', logger: () => {} })
    useWasmFastPaths(true)
  })

  it('are the wasm kernels registered, in place of tfjs-backend-wasm 4.22 own', () => {
    expect(tf.getKernel('LRN', 'wasm')?.kernelFunc.name).not.toBe('lrn')
    expect(tf.getKernel('LRNGrad', 'wasm')?.kernelFunc.name).not.toBe('lrnGrad')
  })

  const cases: Array<{ shape: Shape4; p: typeof ALEXNET_LRN; scale: number; why: string }> = [
    // AlexNet's lrn1 and lrn2 channel counts; a large scale makes the norm term matter (alpha is 2e-5).
    { shape: [2, 5, 5, 96], p: ALEXNET_LRN, scale: 60, why: 'AlexNet lrn1' },
    { shape: [1, 3, 4, 256], p: ALEXNET_LRN, scale: 60, why: 'AlexNet lrn2' },
    // Fewer channels than the window: every channel's window is clipped at one or both edges.
    {
      shape: [3, 2, 3, 4],
      p: { depthRadius: 2, bias: 1, alpha: 0.1, beta: 0.75 },
      scale: 2,
      why: 'c < 2r+1'
    },
    { shape: [2, 3, 3, 12], p: { depthRadius: 2, bias: 2, alpha: 0.05, beta: 0.75 }, scale: 3, why: 'edges' },
    {
      shape: [2, 3, 3, 8],
      p: { depthRadius: 0, bias: 1, alpha: 0.3, beta: 0.5 },
      scale: 2,
      why: 'r 0, beta 0.5'
    },
    {
      shape: [2, 3, 3, 16],
      p: { depthRadius: 5, bias: 0.5, alpha: 0.02, beta: 1 },
      scale: 2,
      why: 'r 5, beta 1'
    },
    // Left to tfjs's kernel: 6 channels, beta 0.6.
    {
      shape: [2, 3, 3, 6],
      p: { depthRadius: 2, bias: 1, alpha: 0.1, beta: 0.75 },
      scale: 2,
      why: '6 channels'
    },
    { shape: [2, 3, 3, 8], p: { depthRadius: 2, bias: 1, alpha: 0.1, beta: 0.6 }, scale: 2, why: 'beta 0.6' }
  ]
  for (const c of cases) {
    it(`equal the cpu backend within 1e-5 (${c.why}, ${c.shape.join('x')})`, async () => {
      const w = await lrnAndGrad('wasm', c.shape, c.p, c.scale)
      const cpu = await lrnAndGrad('cpu', c.shape, c.p, c.scale)
      expectClose(w.y, cpu.y, 1e-5)
      expectClose(w.dx, cpu.dx, 1e-5)
      expect(worstRelative(w.y, cpu.y)).toBeLessThan(1e-5)
      expect(worstRelative(w.dx, cpu.dx)).toBeLessThan(1e-4)
    })
  }

  it('the normalisation changes the values (the cases above test more than x * bias^-beta)', async () => {
    const c = cases[0]
    const w = await lrnAndGrad('wasm', c.shape, c.p, c.scale)
    const x = values(n(c.shape), 5)
    let moved = 0
    for (let i = 0; i < x.length; i++) moved = Math.max(moved, Math.abs(w.y[i] - x[i] * c.scale))
    expect(moved).toBeGreaterThan(1e-2)
  })
})
