// The training loop on real GTSRB images: it learns (beats chance on track-disjoint test images), streams
// progress (never the run's end, which it returns), does not leak tensors, cancels within a batch, reports
// corrupt images and resumes from checkpoints.
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import type { TrainingEvent } from '../../../../src/shared/training'
import { initBackend } from '../../../../src/main/ml/tfjs/backend'
import { train } from '../../../../src/main/ml/train/trainer'
import { createBatchSource } from '../../../../src/main/ml/data/batches'
import type { Preprocessing } from '../../../../src/shared/training'
import { classifyExamples, TfjsClassifier } from '../../../../src/main/ml/evaluate/classifier'
import { readCheckpoint } from '../../../../src/main/ml/train/checkpoint'
import { sharedDataAvailable, tempDir } from '../../../helpers'
import { FIVE, accuracyOn, baseConfig, gtsrbExamples, gtsrbTrainData } from './trainerFixtures'

const run = sharedDataAvailable() ? describe : describe.skip
/** A run's end is the trainer's result; the training service alone announces it. */
const END: string[] = ['completed', 'failed', 'cancelled']

const testAccuracy = (model: tf.LayersModel, prep: Preprocessing, classIds: number[]): Promise<number> =>
  accuracyOn(model, prep, gtsrbExamples('gtsrb-test', classIds))

run('trainer (custom strategy, real GTSRB)', () => {
  let tmp: ReturnType<typeof tempDir>
  beforeAll(async () => {
    await initBackend({ logger: () => {} })
    tmp = tempDir()
  })
  afterAll(() => tmp.remove())

  it('learns five signs well above chance, with events and no tensor leaks', async () => {
    const data = gtsrbTrainData(FIVE)
    const events: TrainingEvent[] = []
    const before = tf.memory().numTensors
    const perEpoch: number[] = []
    const config = baseConfig({ epochs: 6 })
    const result = await train(config, data, {
      runDir: join(tmp.dir, 'custom'),
      onEvent: (e) => {
        events.push(e)
        if (e.type === 'epoch') perEpoch.push(tf.memory().numTensors)
      }
    })
    expect(result.status).toBe('completed')
    const acc = await testAccuracy(result.built!.model, result.built!.preprocessing, FIVE)
    const chance = 1 / FIVE.length
    console.log(`custom: val ${result.valAccuracy}, test ${acc}, ${result.seconds.toFixed(1)} s`)
    expect(acc).toBeGreaterThan(2.5 * chance)
    // Events: started, batches, one epoch event per epoch; the end is the result, not an event.
    expect(events[0].type).toBe('phase')
    expect(events.find((e) => e.type === 'started')).toBeTruthy()
    expect(events.filter((e) => e.type === 'epoch')).toHaveLength(6)
    const batches = events.filter((e) => e.type === 'batch')
    expect(batches.length).toBeGreaterThanOrEqual(6 * Math.floor(data.train.length / 32))
    expect(batches.every((b) => b.type === 'batch' && b.imagesPerSecond > 0 && Number.isFinite(b.loss))).toBe(
      true
    )
    expect(events.filter((e) => END.includes(e.type))).toEqual([])
    // Tensors: constant across epochs, and back to the baseline once the model is disposed.
    expect(new Set(perEpoch).size).toBe(1)
    result.built!.dispose()
    expect(tf.memory().numTensors).toBe(before)
    expect(readCheckpoint(join(tmp.dir, 'custom'))!.epoch).toBe(6)
  })

  it('cancels within one batch, returns cancelled and frees every tensor', async () => {
    const data = gtsrbTrainData(FIVE, { perClass: 40 })
    const before = tf.memory().numTensors
    const ac = new AbortController()
    const events: TrainingEvent[] = []
    let batchesAfterAbort = 0
    const result = await train(baseConfig({ epochs: 5, batchSize: 16 }), data, {
      runDir: join(tmp.dir, 'cancel'),
      signal: ac.signal,
      onEvent: (e) => {
        events.push(e)
        if (e.type === 'batch' && ac.signal.aborted) batchesAfterAbort++
        if (e.type === 'batch' && e.batch === 3) ac.abort()
      }
    })
    expect(result.status).toBe('cancelled')
    expect(result.built).toBeNull()
    expect(batchesAfterAbort).toBe(0)
    expect(result.epochsDone).toBe(0)
    expect(events.some((e) => e.type === 'epoch' || END.includes(e.type))).toBe(false)
    expect(tf.memory().numTensors).toBe(before)
  })

  it('reports an error that follows a cancel as the failure it is, not as cancelled', async () => {
    const data = gtsrbTrainData(FIVE, { perClass: 20 })
    const ac = new AbortController()
    // The real pipeline, with a read that fails right after the user cancelled.
    const failing: typeof createBatchSource = (o) => {
      const real = createBatchSource(o)
      return {
        numExamples: real.numExamples,
        batchSize: real.batchSize,
        batchesPerEpoch: real.batchesPerEpoch,
        async *epoch(index, eo) {
          let n = 0
          for await (const b of real.epoch(index, eo)) {
            if (++n === 3) {
              ac.abort()
              throw new Error('EIO: disk read failed')
            }
            yield b
          }
        }
      }
    }
    await expect(
      train(baseConfig({ epochs: 2, batchSize: 16 }), data, {
        runDir: join(tmp.dir, 'abort-then-fail'),
        signal: ac.signal,
        createBatchSource: failing,
        onEvent: () => {}
      })
    ).rejects.toThrow(/disk read failed/)
  })

  it('skips and reports a corrupt image in the training set', async () => {
    const data = gtsrbTrainData(FIVE, { perClass: 20 })
    const bad = join(tmp.dir, 'truncated.ppm')
    // A valid header promising 32x32 pixels, then only a few bytes of them.
    writeFileSync(bad, Buffer.concat([Buffer.from('P6\n32 32\n255\n'), Buffer.alloc(100, 7)]))
    const missing = join(tmp.dir, 'gone.ppm')
    data.train.push({ imageId: null, path: bad, hash: '', label: 0, roi: null })
    data.train.push({ imageId: null, path: missing, hash: '', label: 1, roi: null })
    const events: TrainingEvent[] = []
    const result = await train(baseConfig({ epochs: 1 }), data, {
      runDir: join(tmp.dir, 'corrupt'),
      onEvent: (e) => events.push(e)
    })
    expect(result.status).toBe('completed')
    const paths = result.failed.map((f) => f.path).sort()
    expect(paths).toEqual([missing, bad].sort())
    expect(result.failed.find((f) => f.path === bad)!.reason).toMatch(/truncated|expected|bytes/i)
    expect(result.failed.find((f) => f.path === missing)!.reason).toMatch(/not found|ENOENT|no such/i)
    expect(events.filter((e) => END.includes(e.type))).toEqual([])
    result.built!.dispose()
  })

  it('resumes from the last checkpoint and continues the curves', async () => {
    const data = gtsrbTrainData(FIVE, { perClass: 40 })
    const runDir = join(tmp.dir, 'resume')
    const config = baseConfig({ epochs: 4, batchSize: 16 })
    const ac = new AbortController()
    const first = await train(config, data, {
      runDir,
      signal: ac.signal,
      onEvent: (e) => {
        if (e.type === 'epoch' && e.epoch === 2) ac.abort()
      }
    })
    expect(first.status).toBe('cancelled')
    expect(first.epochsDone).toBe(2)
    const saved = readCheckpoint(runDir)!
    expect(saved.epoch).toBe(2)
    expect(existsSync(join(runDir, 'checkpoint', 'weights.bin'))).toBe(true)

    const events: TrainingEvent[] = []
    const second = await train(config, data, { runDir, resumeFrom: runDir, onEvent: (e) => events.push(e) })
    expect(second.status).toBe('completed')
    const epochs = events.filter((e) => e.type === 'epoch').map((e) => (e.type === 'epoch' ? e.epoch : 0))
    expect(epochs).toEqual([3, 4])
    expect(events.find((e) => e.type === 'batch')).toMatchObject({ epoch: 3 })
    expect(second.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4])
    // Resumed weights, not a fresh start: the first resumed epoch trains better than epoch 1 did.
    expect(second.history[2].trainLoss).toBeLessThan(second.history[0].trainLoss)
    second.built!.dispose()
  })

  it('stops early on validation loss and restores the best weights', async () => {
    const data = gtsrbTrainData(FIVE, { perClass: 30 })
    // A rate this high makes validation loss get worse quickly after the first epochs.
    const config = baseConfig({ epochs: 12, earlyStoppingPatience: 2, learningRate: 0.02, batchSize: 16 })
    const result = await train(config, data, { runDir: join(tmp.dir, 'early'), onEvent: () => {} })
    const losses = result.history.map((h) => h.valLoss!)
    const best = Math.min(...losses)
    expect(result.stoppedEarly).toBe(true)
    expect(result.history.length).toBeLessThan(12)
    expect(losses.length - 1 - losses.indexOf(best)).toBe(2)
    expect(result.valLoss).toBe(best)
    // The returned model is the best epoch's: re-evaluating it on val gives the best loss.
    const model = result.built!.model
    const r = await classifyExamples(new TfjsClassifier(model, result.built!.preprocessing, false), data.val)
    const n = model.outputs[0].shape[1] as number
    expect(r.examples).toHaveLength(data.val.length)
    const ce =
      -r.examples.reduce((a, e, i) => a + Math.log(Math.max(r.probabilities[i * n + e.label], 1e-7)), 0) /
      data.val.length
    expect(ce).toBeCloseTo(best, 3)
    result.built!.dispose()
  })
})
