// The wasm momentum update (native/momentum.c via HeapMomentumOptimizer) against tfjs's MomentumOptimizer:
// the same weights and accumulators bit for bit over several steps (sizes with and without a SIMD tail, a
// changed learning rate, a variable without a gradient), the same optimizer weights, no leaked tensors, and
// tfjs's own update where the kernel does not apply (Nesterov, the cpu backend).
import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../../../../src/main/ml/tfjs/backend'
import { values } from '../numeric'
import { useWasmFastPaths } from '../../../../src/main/ml/tfjs/kernels/wasmKernels'
import { HeapMomentumOptimizer } from '../../../../src/main/ml/tfjs/kernels/momentum'

const SHAPES = [[37, 5], [64], [3, 3, 4, 8], [1]]

/** Runs `steps` updates with `opt` on fresh variables; returns the weights and the optimizer's weights. */
async function train(opt: tf.MomentumOptimizer, steps: number, tag: string): Promise<Float32Array[]> {
  const vars = SHAPES.map((s, i) =>
    tf.variable(
      tf.tensor(
        values(
          s.reduce((a, b) => a * b, 1),
          50 + i
        ),
        s
      ),
      true,
      `${tag}_${i}`
    )
  )
  for (let step = 0; step < steps; step++) {
    if (step === 2) opt.setLearningRate(0.05)
    const grads: Record<string, tf.Tensor> = {}
    vars.forEach((v, i) => {
      // The last variable gets no gradient at step 1.
      if (!(i === vars.length - 1 && step === 1))
        grads[v.name] = tf.tensor(values(v.size, 100 * step + i), v.shape)
    })
    opt.applyGradients(grads as unknown as tf.NamedTensorMap as Parameters<typeof opt.applyGradients>[0])
    tf.dispose(Object.values(grads))
  }
  const optWeights = await opt.getWeights()
  const out = await Promise.all(
    [...vars, ...optWeights.slice(1).map((w) => w.tensor)].map(async (t) => Float32Array.from(await t.data()))
  )
  tf.dispose([...vars, ...optWeights.map((w) => w.tensor)])
  return out
}

describe('HeapMomentumOptimizer (wasm SIMD momentum update)', () => {
  beforeAll(async () => {
    await initBackend({ prefer: 'wasm', logger: () => {} })
    useWasmFastPaths(true)
  })

  it("gives tfjs's MomentumOptimizer's weights and accumulators bit for bit, without leaking tensors", async () => {
    await tf.setBackend('wasm')
    const leaked = async (opt: tf.MomentumOptimizer, tag: string) => {
      const before = tf.memory().numTensors
      const out = await train(opt, 4, tag)
      opt.dispose()
      return { out, leaked: tf.memory().numTensors - before }
    }
    const fast = await leaked(new HeapMomentumOptimizer(0.1, 0.9), 'fast')
    const ref = await leaked(new tf.MomentumOptimizer(0.1, 0.9), 'ref')
    // tfjs keeps its learning-rate scalars past dispose(); the SIMD path adds nothing to that.
    expect(fast.leaked).toBe(ref.leaked)
    const mine = fast.out
    const theirs = ref.out
    expect(mine.length).toBe(2 * SHAPES.length)
    mine.forEach((m, i) => expect(Array.from(m)).toEqual(Array.from(theirs[i])))
    // The update did something: the weights moved from their initial values.
    expect(Array.from(mine[0])).not.toEqual(Array.from(values(37 * 5, 50)))
  })

  it('takes tfjs update for Nesterov and on the cpu backend (same results as tfjs)', async () => {
    for (const [backend, nesterov] of [
      ['wasm', true],
      ['cpu', false]
    ] as const) {
      await tf.setBackend(backend)
      const a = await train(new HeapMomentumOptimizer(0.1, 0.9, nesterov), 3, `a_${backend}`)
      const b = await train(new tf.MomentumOptimizer(0.1, 0.9, nesterov), 3, `b_${backend}`)
      a.forEach((m, i) => expect(Array.from(m)).toEqual(Array.from(b[i])))
    }
    await tf.setBackend('wasm')
  })

  it('is a MomentumOptimizer to the rest of the code', () => {
    const opt = new HeapMomentumOptimizer(0.01, 0.9)
    expect(opt).toBeInstanceOf(tf.MomentumOptimizer)
    expect(opt.getConfig()).toEqual(new tf.MomentumOptimizer(0.01, 0.9).getConfig())
  })
})
