// The wasm SplitV fast path (block copies; the grouped convolutions' channel split) against tfjs's cpu backend:
// equal and uneven splits on the last, a middle and the first axis, a negative axis, int32, and the split's
// gradient in a grouped convolution's train step.
import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../../../../src/main/ml/tfjs/backend'
import { expectClose, values } from '../numeric'
import { useWasmFastPaths } from '../../../../src/main/ml/tfjs/kernels/wasmKernels'

const n = (s: number[]): number => s.reduce((a, b) => a * b, 1)

async function split(backend: string, shape: number[], sizes: number | number[], axis: number) {
  await tf.setBackend(backend)
  const parts = tf.tidy(() => tf.split(tf.tensor(values(n(shape), 41), shape), sizes, axis))
  const out = await Promise.all(
    parts.map(async (p) => ({ shape: p.shape, data: Float32Array.from(await p.data()) }))
  )
  tf.dispose(parts)
  return out
}

describe('wasm SplitV (block copies)', () => {
  beforeAll(async () => {
    await initBackend({ prefer: 'wasm', logger: () => {} })
    useWasmFastPaths(true)
  })

  it('is wrapped on wasm', () => {
    expect(tf.getKernel('SplitV', 'wasm')?.kernelFunc.name).not.toBe('splitV')
  })

  const cases: Array<[number[], number | number[], number]> = [
    [[2, 5, 5, 8], 2, 3], // AlexNet's grouped convolution: two halves of the channels
    [[3, 3, 6, 8], [3, -1, 2], 3], // uneven, with an inferred size
    [[2, 6, 4, 3], [1, 2, 3], 1],
    [[6, 2, 3], 3, 0],
    [[4, 6, 2], [4, 2], -2]
  ]
  for (const [shape, sizes, axis] of cases) {
    it(`equals the cpu backend: ${shape.join('x')} into ${JSON.stringify(sizes)} on axis ${axis}`, async () => {
      const w = await split('wasm', shape, sizes, axis)
      const c = await split('cpu', shape, sizes, axis)
      expect(w.map((p) => p.shape)).toEqual(c.map((p) => p.shape))
      w.forEach((p, i) => expect(Array.from(p.data)).toEqual(Array.from(c[i].data)))
    })
  }

  it('splits int32 tensors', async () => {
    await tf.setBackend('wasm')
    const [a, b] = tf.split(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32'), [1, 2], 1)
    expect(a.dtype).toBe('int32')
    expect(Array.from(await a.data())).toEqual([1, 4])
    expect(Array.from(await b.data())).toEqual([2, 3, 5, 6])
    tf.dispose([a, b])
  })

  it("gives a grouped convolution's gradients as the cpu backend does", async () => {
    const run = async (backend: string) => {
      await tf.setBackend(backend)
      const x = tf.tensor4d(values(2 * 7 * 7 * 8, 42), [2, 7, 7, 8])
      const w = tf.tensor4d(values(3 * 3 * 4 * 8, 43), [3, 3, 4, 8])
      const r = tf.tensor4d(values(2 * 7 * 7 * 8, 44), [2, 7, 7, 8])
      const g = tf.grads((a: tf.Tensor, k: tf.Tensor) => {
        const xs = tf.split(a, 2, 3)
        const ks = tf.split(k, 2, 3)
        const ys = xs.map((xi, i) => tf.conv2d(xi as tf.Tensor4D, ks[i] as tf.Tensor4D, 1, 'same'))
        return tf.sum(tf.mul(tf.concat(ys, 3), r))
      })([x, w])
      const out = await Promise.all(g.map(async (t) => Float32Array.from(await t.data())))
      tf.dispose([x, w, r, ...g])
      return out
    }
    const wasm = await run('wasm')
    const cpu = await run('cpu')
    expectClose(wasm[0], cpu[0], 1e-5)
    expectClose(wasm[1], cpu[1], 1e-5)
  })
})
