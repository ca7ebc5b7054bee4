// Data-parallel training: the gradient worker thread computes exactly the gradients of its part of a batch,
// the trainer's average of the two parts equals the whole batch's gradient, and a run on wasm uses two threads
// (TS_TRAIN_THREADS=1 turns it off) and still learns.
import { resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../../../../src/main/ml/tfjs/backend'
import { createCompactCnn } from '../../../../src/main/ml/models/compact'
import { GradientWorker } from '../../../../src/main/ml/train/dataParallel'
import { threadSpeedup, trainThreads } from '../../../../src/main/ml/train/threads'
import { batchGradients } from '../../../../src/main/ml/train/gradients'
import { train } from '../../../../src/main/ml/train/trainer'
import type { TrainingEvent } from '../../../../src/shared/training'
import { baseConfig, FIVE, gtsrbTrainData } from './trainerFixtures'
import { sharedDataAvailable, tempDir } from '../../../helpers'

/** The gradient worker's TypeScript source, run with jiti (the app passes the built gradWorker.js). */
const GRAD_WORKER = {
  file: resolve(__dirname, '../../../../src/main/ml/train/gradWorker.ts'),
  execArgv: ['--import', 'jiti/register']
}

describe('data-parallel training', () => {
  beforeAll(async () => {
    await initBackend({ prefer: 'wasm', logger: () => {} })
  })

  it('uses one thread per core on wasm (at most 8) unless TS_TRAIN_THREADS says otherwise', () => {
    expect(trainThreads('wasm', { TS_TRAIN_THREADS: '1' })).toBe(1)
    expect(trainThreads('tfjs-node', {})).toBe(1)
    expect(trainThreads('cpu', {})).toBe(1)
    expect(trainThreads('wasm', { TS_TRAIN_THREADS: '2' })).toBe(2)
    expect(trainThreads('wasm', { TS_TRAIN_THREADS: '12' })).toBe(12)
    expect(trainThreads('wasm', {}, 2)).toBe(2)
    expect(trainThreads('wasm', {}, 6)).toBe(6)
    expect(trainThreads('wasm', {}, 16)).toBe(8)
    expect(trainThreads('wasm', {}, 1)).toBe(1)
    expect(threadSpeedup(1)).toBe(1)
    expect(threadSpeedup(3)).toBeCloseTo(2.2)
  })

  // More threads than this machine's cores, on purpose: the result must not depend on the machine.
  it.each([1, 2, 3, 4])("%i threads average their parts into the whole batch's gradient", async (threads) => {
    // No batch norm and no dropout: then the gradient of a batch is exactly the size-weighted mean of its parts'.
    // An odd batch (7 = 3 on the worker + 4 here with two threads; 3+2+2 with three) checks the weighting.
    const model = createCompactCnn({
      numClasses: 4,
      inputSize: 16,
      channels: 4,
      batchNorm: false,
      dropout: 0,
      seed: 3
    })
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable)
    const n = 7
    const x = tf.randomUniform([n, 16, 16, 3], -1, 1, 'float32', 11)
    const labels = new Int32Array([0, 1, 2, 3, 0, 1, 2])
    const y = tf.tensor1d(labels, 'int32')
    const whole = tf.tidy(() => {
      const r = batchGradients(model, vars, x, y, 4)
      return vars.map((v) => r.grads[v.name])
    })
    const worker = await GradientWorker.start(model, {
      backend: 'wasm',
      numClasses: 4,
      seed: 1,
      entry: GRAD_WORKER,
      threads
    })
    expect(worker?.threads).toBe(threads)
    try {
      const r = await worker!.gradients(
        model,
        vars,
        { x: x.dataSync() as Float32Array, y: labels, size: n },
        [16, 16, 3],
        4,
        { layers: [], seed: 1, step: 0 }
      )
      let worst = 0
      vars.forEach((v, i) => {
        const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(r.grads[v.name], whole[i]))).dataSync()[0])
        const scale = tf.tidy(() => tf.max(tf.abs(whole[i])).dataSync()[0])
        worst = Math.max(worst, diff / Math.max(scale, 1e-6))
      })
      expect(worst).toBeLessThan(1e-4)
      const wholeLoss = tf.tidy(() => batchGradients(model, vars, x, y, 4).loss.dataSync()[0])
      expect(r.loss).toBeCloseTo(wholeLoss, 5)
      tf.dispose(Object.values(r.grads))
    } finally {
      await worker!.close()
      tf.dispose([x, y, ...whole])
      model.dispose()
    }
  })

  describe.skipIf(!sharedDataAvailable())('a training run', () => {
    const tmp = tempDir()
    afterAll(() => tmp.remove())
    const data = gtsrbTrainData(FIVE, { perClass: 40 })
    const run = async (name: string): Promise<{ threads: number | undefined; losses: number[] }> => {
      let threads: number | undefined
      const r = await train(baseConfig({ epochs: 3, batchSize: 16 }), data, {
        runDir: `${tmp.dir}/${name}`,
        gradWorker: GRAD_WORKER,
        onEvent: (e: TrainingEvent) => {
          if (e.type === 'started') threads = e.threads
        }
      })
      r.built?.dispose()
      return { threads, losses: r.history.map((h) => h.trainLoss) }
    }

    it('splits every batch over two threads and learns as one thread does', async () => {
      const before = tf.memory().numTensors
      process.env.TS_TRAIN_THREADS = '2'
      const two = await run('two').finally(() => delete process.env.TS_TRAIN_THREADS)
      expect(two.threads).toBe(2)
      expect(two.losses[2]).toBeLessThan(two.losses[0] * 0.8)
      expect(tf.memory().numTensors).toBe(before)
      process.env.TS_TRAIN_THREADS = '1'
      try {
        const one = await run('one')
        expect(one.threads).toBe(1)
        // Same data, same seed, same math up to float rounding: the curves agree closely.
        one.losses.forEach((l, i) => expect(Math.abs(l - two.losses[i])).toBeLessThan(0.05 * l + 0.02))
      } finally {
        delete process.env.TS_TRAIN_THREADS
      }
    })
  })
})
