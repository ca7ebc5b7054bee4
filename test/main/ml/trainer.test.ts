// The training loop on real GTSRB images: it learns (beats chance on track-disjoint test images), streams
// events, does not leak tensors, cancels within a batch, reports corrupt images and resumes from checkpoints.
import { copyFileSync, existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import type { TrainingEvent } from '../../../src/shared/training'
import { initBackend } from '../../../src/main/ml/backend'
import { predictExamples, train } from '../../../src/main/ml/trainer'
import { readCheckpoint } from '../../../src/main/ml/checkpoint'
import { sharedDataAvailable, tempDir } from '../../helpers'
import { FIVE, baseConfig, gtsrbExamples, gtsrbTrainData } from './trainerFixtures'

const run = sharedDataAvailable() ? describe : describe.skip

async function testAccuracy(
  model: tf.LayersModel,
  prep: Parameters<typeof predictExamples>[2]['preprocessing'],
  classIds: number[]
) {
  const test = gtsrbExamples('gtsrb-test', classIds)
  const { probabilities } = await predictExamples(model, test, { preprocessing: prep })
  let correct = 0
  test.forEach((e, i) => {
    const p = probabilities[i]!
    if (p.indexOf(Math.max(...p)) === e.label) correct++
  })
  return correct / test.length
}

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
    // Events: started, batches, one epoch event per epoch, completed.
    expect(events[0].type).toBe('phase')
    expect(events.find((e) => e.type === 'started')).toBeTruthy()
    expect(events.filter((e) => e.type === 'epoch')).toHaveLength(6)
    const batches = events.filter((e) => e.type === 'batch')
    expect(batches.length).toBeGreaterThanOrEqual(6 * Math.floor(data.train.length / 32))
    expect(batches.every((b) => b.type === 'batch' && b.imagesPerSecond > 0 && Number.isFinite(b.loss))).toBe(
      true
    )
    expect(events.at(-1)!.type).toBe('completed')
    // Tensors: constant across epochs, and back to the baseline once the model is disposed.
    expect(new Set(perEpoch).size).toBe(1)
    result.built!.dispose()
    expect(tf.memory().numTensors).toBe(before)
    expect(readCheckpoint(join(tmp.dir, 'custom'))!.epoch).toBe(6)
  })
})
