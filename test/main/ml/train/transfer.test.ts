// The tutorial's transfer strategies end to end on real GTSRB images, with a reduced AlexNet (67 px,
// quarter width, 128-unit fc layers) so they run in about two minutes on a busy CPU:
// - retrain (fresh AlexNet) learns group A; the result is exported as a studio model;
// - that model is the base for fine-tune and feature extraction on five other signs (group B);
// - TRANSFER IS REAL: the same feature-extraction head on a randomly initialised base (same seed and
//   settings) does clearly worse than on the base trained on group A.
// Every accuracy is measured on the track-disjoint gtsrb-test images and compared with chance.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import type { TrainConfig, TrainingEvent } from '../../../../src/shared/training'
import { initBackend } from '../../../../src/main/ml/tfjs/backend'
import { train, type TrainData } from '../../../../src/main/ml/train/trainer'
import { buildModel } from '../../../../src/main/ml/models/strategies'
import { buildMetadata, exportModelFolder } from '../../../../src/main/ml/export/folder'
import { createAlexNet } from '../../../../src/main/ml/models/alexnet'
import { sharedDataAvailable, tempDir } from '../../../helpers'
import {
  FIVE,
  accuracyOn,
  classLabels,
  gtsrbExamples,
  gtsrbTrainData,
  smallAlexConfig
} from './trainerFixtures'

const run = sharedDataAvailable() ? describe : describe.skip

/** Group A: eight signs none of which is in group B (FIVE). */
const GROUP_A = [2, 4, 9, 12, 25, 33, 35, 40]

async function testAccuracy(
  built: { model: tf.LayersModel; preprocessing: TrainConfig['preprocessing'] },
  classIds: number[]
) {
  return accuracyOn(built.model, built.preprocessing, gtsrbExamples('gtsrb-test', classIds))
}

run('transfer strategies (reduced AlexNet, real GTSRB)', () => {
  let tmp: ReturnType<typeof tempDir>
  let trainedBase: string
  let randomBase: string
  let groupB: TrainData
  beforeAll(async () => {
    await initBackend({ logger: () => {} })
    tmp = tempDir()
    groupB = gtsrbTrainData(FIVE, { perClass: 60 })
  })
  afterAll(() => tmp.remove())

  it('retrain: a fresh AlexNet learns group A, and exports as a studio model', async () => {
    const data = gtsrbTrainData(GROUP_A, { perClass: 80 })
    const config = smallAlexConfig({ strategy: 'retrain', epochs: 6, learningRate: 1e-3 })
    const result = await train(config, data, { runDir: join(tmp.dir, 'retrain'), onEvent: () => {} })
    const acc = await testAccuracy(result.built!, GROUP_A)
    console.log(
      `retrain: val ${result.valAccuracy}, test ${acc.toFixed(3)} (chance ${(1 / GROUP_A.length).toFixed(3)}), ${result.seconds.toFixed(1)} s`
    )
    expect(acc).toBeGreaterThan(2 / GROUP_A.length)
    trainedBase = join(tmp.dir, 'base-trained')
    const meta = buildMetadata({
      config,
      preprocessing: result.built!.preprocessing,
      classes: data.classes,
      valAccuracy: result.valAccuracy,
      testAccuracy: acc,
      backend: result.backend
    })
    await exportModelFolder(result.built!.model, meta, trainedBase, { onnx: false })
    result.built!.dispose()

    // The control: the same architecture and seed, never trained.
    const untrained = createAlexNet({
      numClasses: GROUP_A.length,
      inputSize: 67,
      width: 0.25,
      fcUnits: 128,
      dropout: 0.3,
      seed: config.seed
    })
    randomBase = join(tmp.dir, 'base-random')
    await exportModelFolder(
      untrained,
      { ...meta, metrics: { valAccuracy: null, testAccuracy: null } },
      randomBase,
      { onnx: false }
    )
    untrained.dispose()
  })

  it('feature extraction on the trained base beats chance and beats the same head on a random base', async () => {
    const fe = (base: string): TrainConfig =>
      smallAlexConfig({
        strategy: 'feature-extraction',
        base: { kind: 'studio-model', path: base },
        epochs: 30,
        learningRate: 3e-3
      })
    const events: TrainingEvent[] = []
    const before = tf.memory().numTensors
    const onTrained = await train(fe(trainedBase), groupB, {
      runDir: join(tmp.dir, 'fe-trained'),
      featureCacheDir: join(tmp.dir, 'features'),
      onEvent: (e) => events.push(e)
    })
    const accTrained = await testAccuracy(onTrained.built!, FIVE)
    const onRandom = await train(fe(randomBase), groupB, {
      runDir: join(tmp.dir, 'fe-random'),
      featureCacheDir: join(tmp.dir, 'features'),
      onEvent: () => {}
    })
    const accRandom = await testAccuracy(onRandom.built!, FIVE)
    console.log(
      `feature extraction: trained base test ${accTrained.toFixed(3)} (val ${onTrained.valAccuracy}), ` +
        `random base ${accRandom.toFixed(3)} (val ${onRandom.valAccuracy}); chance ${(1 / FIVE.length).toFixed(3)}; ` +
        `${onTrained.seconds.toFixed(1)} s`
    )
    expect(accTrained).toBeGreaterThan(2 / FIVE.length)
    expect(accTrained).toBeGreaterThan(accRandom + 0.1)
    // Features were computed once per image, with progress events, then only the head trained.
    const phases = events.filter((e) => e.type === 'phase' && e.phase === 'features')
    expect(phases.length).toBeGreaterThan(1)
    onTrained.built!.dispose()
    onRandom.built!.dispose()
    expect(tf.memory().numTensors).toBe(before)

    // A second run on the same base reads every feature from the cache.
    const again: TrainingEvent[] = []
    const cached = await train({ ...fe(trainedBase), epochs: 1 }, groupB, {
      runDir: join(tmp.dir, 'fe-again'),
      featureCacheDir: join(tmp.dir, 'features'),
      onEvent: (e) => again.push(e)
    })
    expect(again.some((e) => e.type === 'phase' && e.phase === 'features')).toBe(false)
    cached.built!.dispose()
  })

  it('fine-tune from the trained base: new fc8, all layers train, beats chance', async () => {
    const config = smallAlexConfig({
      strategy: 'fine-tune',
      base: { kind: 'studio-model', path: trainedBase },
      epochs: 3,
      learningRate: 1e-3,
      pretrainedRateFactor: 0.1
    })
    const built = await buildModel(config, FIVE.length)
    // Every layer is trainable, fc8 is new (5 outputs), and only the pretrained ones are scaled.
    expect(built.model.getLayer('fc8').getWeights()[0].shape).toEqual([128, FIVE.length])
    expect(built.model.trainableWeights.length).toBe(16)
    expect(built.pretrained.size).toBe(14)
    const conv1Before = built.model.getLayer('conv1').getWeights()[0].dataSync().slice()
    built.dispose()

    const result = await train(config, groupB, { runDir: join(tmp.dir, 'fine-tune'), onEvent: () => {} })
    const acc = await testAccuracy(result.built!, FIVE)
    console.log(
      `fine-tune: val ${result.valAccuracy}, test ${acc.toFixed(3)}, ${result.seconds.toFixed(1)} s`
    )
    expect(acc).toBeGreaterThan(2 / FIVE.length)
    // The pretrained layers moved too (slowly), unlike feature extraction.
    const conv1After = result.built!.model.getLayer('conv1').getWeights()[0].dataSync()
    let diff = 0
    for (let i = 0; i < conv1After.length; i++)
      diff = Math.max(diff, Math.abs(conv1After[i] - conv1Before[i]))
    expect(diff).toBeGreaterThan(0)
    result.built!.dispose()
  })

  it('classLabels reads sign names', () => {
    expect(classLabels([14])[0].name).toBe('Stop')
  })
})
