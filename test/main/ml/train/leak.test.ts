// No tensor leaks: for every strategy path (fine-tune with scaled gradients, feature extraction, retrain),
// tf.memory().numTensors is the same at every epoch end and back to its starting value after the run —
// also when a run is cancelled, fails half way, or resumes from a checkpoint.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import type { TrainConfig } from '../../../../src/shared/training'
import { initBackend } from '../../../../src/main/ml/tfjs/backend'
import { train, type TrainData } from '../../../../src/main/ml/train/trainer'
import { createBatchSource } from '../../../../src/main/ml/data/batches'
import type { BatchSourceOptions } from '../../../../src/main/ml/data/types'
import { sharedDataAvailable, tempDir } from '../../../helpers'
import { FIVE, bvlcConfig, gtsrbTrainData } from './trainerFixtures'

describe.skipIf(!sharedDataAvailable())('tensor leaks', () => {
  let tmp: ReturnType<typeof tempDir>
  let data: TrainData
  beforeAll(async () => {
    await initBackend({ logger: () => {} })
    tmp = tempDir()
    data = gtsrbTrainData(FIVE, { perClass: 16 })
  })
  afterAll(() => tmp.remove())

  async function expectNoLeak(name: string, config: TrainConfig): Promise<void> {
    const before = tf.memory().numTensors
    const atEpoch: number[] = []
    const r = await train(config, data, {
      runDir: join(tmp.dir, name),
      featureCacheDir: join(tmp.dir, 'features'),
      onEvent: (e) => e.type === 'epoch' && atEpoch.push(tf.memory().numTensors)
    })
    expect(atEpoch).toHaveLength(config.epochs)
    expect(new Set(atEpoch).size).toBe(1)
    r.built!.dispose()
    expect(tf.memory().numTensors).toBe(before)
  }

  it('fine-tune with a pretrained-rate factor', () =>
    expectNoLeak('ft', bvlcConfig({ epochs: 3, batchSize: 16, pretrainedRateFactor: 0.1 })))
  it('feature extraction', () =>
    expectNoLeak(
      'fe',
      // Patience 3: the head learns on the He-scaled fixture and may stop early at patience 1, which
      // would leave fewer than `epochs` epoch ends to compare.
      bvlcConfig({ strategy: 'feature-extraction', epochs: 3, batchSize: 16, earlyStoppingPatience: 3 })
    ))
  it('retrain with early stopping and SGD', () =>
    expectNoLeak(
      'rt',
      bvlcConfig({
        strategy: 'retrain',
        epochs: 3,
        batchSize: 16,
        optimizer: 'sgd-momentum',
        earlyStoppingPatience: 1
      })
    ))

  it('a run cancelled during feature-extraction head training', async () => {
    const before = tf.memory().numTensors
    const ac = new AbortController()
    const r = await train(bvlcConfig({ strategy: 'feature-extraction', epochs: 5, batchSize: 8 }), data, {
      runDir: join(tmp.dir, 'fe-cancel'),
      featureCacheDir: join(tmp.dir, 'features'),
      signal: ac.signal,
      onEvent: (e) => e.type === 'batch' && e.epoch === 2 && ac.abort()
    })
    expect(r.status).toBe('cancelled')
    expect(r.epochsDone).toBe(1)
    expect(tf.memory().numTensors).toBe(before)
  })

  it('a run that fails half way (the data pipeline throws) frees everything and reports failed', async () => {
    const before = tf.memory().numTensors
    const failing = (opts: BatchSourceOptions) => {
      const real = createBatchSource(opts)
      return {
        ...real,
        numExamples: real.numExamples,
        batchSize: real.batchSize,
        batchesPerEpoch: real.batchesPerEpoch,
        async *epoch(i: number, o?: { signal?: AbortSignal }) {
          let n = 0
          for await (const b of real.epoch(i, o)) {
            if (i === 1 && ++n === 2) throw new Error('disk went away')
            yield b
          }
        }
      }
    }
    const events: string[] = []
    await expect(
      train(bvlcConfig({ epochs: 3, batchSize: 16 }), data, {
        runDir: join(tmp.dir, 'fail'),
        createBatchSource: failing,
        onEvent: (e) => events.push(e.type)
      })
    ).rejects.toThrow(/disk went away/)
    // The failure is the rejection; the trainer announces no end itself.
    expect(events).not.toContain('failed')
    expect(tf.memory().numTensors).toBe(before)
  })

  it('a resumed run', async () => {
    const config = bvlcConfig({ epochs: 2, batchSize: 16 })
    const runDir = join(tmp.dir, 'resume')
    const ac = new AbortController()
    await train(config, data, { runDir, signal: ac.signal, onEvent: (e) => e.type === 'epoch' && ac.abort() })
    const before = tf.memory().numTensors
    const r = await train(config, data, { runDir, resumeFrom: runDir, onEvent: () => {} })
    expect(r.history).toHaveLength(2)
    r.built!.dispose()
    expect(tf.memory().numTensors).toBe(before)
  })
})
