// The wasm Tile/Sum/Mean fast paths (batch normalisation's statistics and broadcasts) against the cpu
// backend: forward values on the shapes BN uses and others, and a BN train-step gradient.
import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../../../../src/main/ml/tfjs/backend'
import { expectClose, values } from '../numeric'
import { useWasmFastPaths } from '../../../../src/main/ml/tfjs/kernels/wasmKernels'

const n = (s: number[]): number => s.reduce((a, b) => a * b, 1)

/** Runs `f` on both backends with the same inputs and returns [wasm, cpu] results. */
async function both(f: () => tf.Tensor | tf.Tensor[]): Promise<[Float32Array[], Float32Array[]]> {
  const run = async (backend: string): Promise<Float32Array[]> => {
    await tf.setBackend(backend)
    const out = tf.tidy(f)
    const list = Array.isArray(out) ? out : [out]
    const data = await Promise.all(list.map(async (t) => Float32Array.from(await t.data())))
    const shapes = list.map((t) => t.shape.join('x'))
    tf.dispose(list)
    return Object.assign(data, { shapes })
  }
  const w = await run('wasm')
  const c = await run('cpu')
  expect((w as unknown as { shapes: string[] }).shapes).toEqual((c as unknown as { shapes: string[] }).shapes)
  return [w, c]
}

describe('wasm Tile/Sum/Mean fast paths', () => {
  beforeAll(async () => {
    await initBackend({ prefer: 'wasm', logger: () => {} })
    useWasmFastPaths(true)
  })

  it('tile equals the cpu backend for broadcast and general repetitions', async () => {
    for (const [shape, reps] of [
      [
        [1, 1, 1, 32],
        [8, 16, 16, 1]
      ],
      [
        [2, 3, 4],
        [3, 1, 2]
      ],
      [[5], [7]],
      [
        [2, 1, 3, 1],
        [1, 4, 1, 5]
      ]
    ] as [number[], number[]][]) {
      const x = values(n(shape), 7)
      const [w, c] = await both(() => tf.tile(tf.tensor(x, shape), reps))
      expectClose(w[0], c[0], 1e-7)
    }
  })

  it('int32 tiles too', async () => {
    await tf.setBackend('wasm')
    const t = tf.tile(tf.tensor([[1, 2]], [1, 2], 'int32'), [2, 2])
    expect(t.dtype).toBe('int32')
    expect(Array.from(await t.data())).toEqual([1, 2, 1, 2, 1, 2, 1, 2])
    t.dispose()
  })

  it('sum and mean over leading axes (keepDims or not) and other axes equal the cpu backend', async () => {
    const shape = [8, 16, 16, 24]
    const x = values(n(shape), 3)
    for (const axis of [[0, 1, 2], [0], [0, 1], [1, 2], [3], [0, 1, 2, 3], -4]) {
      for (const keepDims of [false, true]) {
        const [w, c] = await both(() => [
          tf.sum(tf.tensor(x, shape), axis, keepDims),
          tf.mean(tf.tensor(x, shape), axis, keepDims)
        ])
        expectClose(w[0], c[0], 1e-5)
        expectClose(w[1], c[1], 1e-5)
      }
    }
  })

  it('a batch-norm train step has the same gradients on wasm as on cpu', async () => {
    const shape = [16, 8, 8, 12]
    const x = values(n(shape), 11)
    const r = values(n(shape), 12)
    const [w, c] = await both(() => {
      const input = tf.tensor4d(x, shape as [number, number, number, number])
      const layer = tf.layers.batchNormalization({ gammaInitializer: 'ones' })
      layer.build(shape)
      const g = tf.grads((a: tf.Tensor) =>
        (layer.apply(a, { training: true }) as tf.Tensor).mul(tf.tensor(r, shape)).sum()
      )([input])
      return [g[0], layer.apply(input, { training: true }) as tf.Tensor]
    })
    expectClose(w[0], c[0], 1e-4)
    expectClose(w[1], c[1], 1e-4)
  })

  it('max-pool gradients equal the cpu backend: 2x2/2 after a ReLU (ties) on even and odd sizes, AlexNet 3x3/2, SAME padding', async () => {
    const cases: Array<{
      shape: [number, number, number, number]
      size: number
      stride: number
      pad: 'valid' | 'same'
    }> = [
      // 2x2/2 with channels a multiple of 4 runs in the SIMD kernel; 3 channels in JS.
      { shape: [4, 16, 16, 8], size: 2, stride: 2, pad: 'valid' },
      { shape: [2, 6, 6, 3], size: 2, stride: 2, pad: 'valid' },
      // 2x2/2 on odd sizes: the last row and column belong to no window and get no gradient.
      { shape: [2, 7, 9, 4], size: 2, stride: 2, pad: 'valid' },
      { shape: [2, 27, 27, 6], size: 3, stride: 2, pad: 'valid' },
      { shape: [2, 9, 7, 5], size: 3, stride: 2, pad: 'same' },
      { shape: [1, 5, 5, 3], size: 2, stride: 1, pad: 'same' }
    ]
    for (const c of cases) {
      const [w, cpu] = await both(() => {
        // relu makes many zeros, so windows tie; the gradient must pick the same one as the cpu backend.
        const x = tf.relu(tf.tensor4d(values(n(c.shape), 3), c.shape))
        const gradient = tf.grad((t: tf.Tensor) =>
          tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, c.size, c.stride, c.pad), tf.scalar(1.5)))
        )
        const weighted = tf.grad((t: tf.Tensor) => {
          const p = tf.maxPool(t as tf.Tensor4D, c.size, c.stride, c.pad)
          return tf.sum(tf.mul(p, tf.tensor(values(p.size, 9), p.shape)))
        })
        return [gradient(x), weighted(x)]
      })
      expectClose(w[0], cpu[0], 1e-6)
      expectClose(w[1], cpu[1], 1e-6)
    }
  })
})
