// Feature extraction (strategy 3) end to end on real GTSRB images with the reduced BVLC-format fixture, at
// the settings the UI's wizard gives: the frozen fc7 features are usable (not ~0), the head's training loss
// clearly falls, and a base whose fc7 is dead for the data is refused with a clear message instead of a
// head that silently learns nothing. (The e2e test once trained for 12 epochs at exactly ln(4): the old
// fixture's std-0.05 weights shrank fc7 features to ~0.01.)
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TrainConfig } from '../../../../src/shared/training'
import { initBackend } from '../../../../src/main/ml/tfjs/backend'
import { buildModel } from '../../../../src/main/ml/models/strategies'
import { computeFeatures } from '../../../../src/main/ml/features/extract'
import { createBatchSource } from '../../../../src/main/ml/data/batches'
import { defaultTrainConfig } from '../../../../src/main/ml/train/config'
import { train, type TrainData } from '../../../../src/main/ml/train/trainer'
import { sharedDataAvailable, tempDir } from '../../../helpers'
import { NPY, classLabels, gtsrbExamples } from '../train/trainerFixtures'

const DEAD_FC7 = resolve(__dirname, '../../../fixtures/alexnet-bvlc/dead-fc7.npy')
/** The e2e test's four signs. */
const FOUR = [1, 13, 14, 17]

/** As the e2e test imports them: every 5th frame of each class, 30 per class, spread over its tracks. */
function e2eLikeData(): TrainData {
  const train = FOUR.flatMap((_, label) =>
    gtsrbExamples('gtsrb-train', FOUR)
      .filter((e) => e.label === label)
      .filter((_, i) => i % 5 === 0)
      .slice(0, 30)
  )
  return { train, val: [], classes: classLabels(FOUR) }
}

/** What the wizard starts with for feature extraction, sized to the fixture as the e2e test does. */
function wizardConfig(path: string): TrainConfig {
  const c = defaultTrainConfig('feature-extraction', { kind: 'bvlc-npy', path })
  return {
    ...c,
    model: { ...c.model, width: 1 / 16, fcUnits: 16 },
    preprocessing: { ...c.preprocessing, inputSize: 67 },
    epochs: 12,
    earlyStoppingPatience: 0
  }
}

describe.skipIf(!sharedDataAvailable())('feature extraction on the reduced BVLC fixture', () => {
  let tmp: ReturnType<typeof tempDir>
  beforeAll(async () => {
    await initBackend({ logger: () => {} })
    tmp = tempDir()
  })
  afterAll(() => tmp.remove())

  it('gives fc7 features of a usable size for real images, through onnxruntime and TF.js alike', async () => {
    const config = wizardConfig(NPY)
    const built = await buildModel(config, 4)
    const examples = e2eLikeData().train
    for (const engine of ['auto', 'tfjs'] as const) {
      const f = await computeFeatures({
        base: built.base!,
        baseKey: built.baseKey!,
        preprocessing: built.preprocessing,
        examples,
        batchSize: 32,
        makeSource: createBatchSource,
        cacheDir: join(tmp.dir, `f-${engine}`),
        engine
      })
      expect(f.byHash.size).toBe(examples.length)
      let sum = 0
      let positive = 0
      let count = 0
      for (const v of f.byHash.values())
        for (const x of v) {
          sum += x
          if (x > 0) positive++
          count++
        }
      // The old fixture gave a mean of 0.01 (max 0.08); He-scaled weights give ~15 with most units active.
      expect(sum / count).toBeGreaterThan(1)
      expect(positive / count).toBeGreaterThan(0.2)
      // ...and they tell the images apart: feature 0..15 vary from image to image.
      const first = [...f.byHash.values()][0]
      expect([...f.byHash.values()].some((v) => v.some((x, i) => Math.abs(x - first[i]) > 0.1))).toBe(true)
    }
    built.dispose()
  })

  it("trains the head at the wizard's settings: the training loss clearly falls", async () => {
    const losses: number[] = []
    const result = await train(wizardConfig(NPY), e2eLikeData(), {
      runDir: join(tmp.dir, 'run'),
      onEvent: (e) => {
        if (e.type === 'epoch') losses.push(e.trainLoss)
      }
    })
    result.built?.dispose()
    expect(losses).toHaveLength(12)
    const last = losses[losses.length - 1]
    // Stuck features give ln(4) = 1.386 at every epoch; a learning head ends well below where it began.
    // (Measured: 1.48 -> 1.22 over the 12 epochs, training accuracy 26 % -> 47 %.)
    expect(last).toBeLessThan(0.9 * losses[0])
    expect(last).toBeLessThan(Math.log(4) - 0.1)
  })

  it('refuses a base whose fc7 features are all zero for the images, saying so', async () => {
    await expect(
      train(wizardConfig(DEAD_FC7), e2eLikeData(), { runDir: join(tmp.dir, 'dead'), onEvent: () => {} })
    ).rejects.toThrow(/fc7 features are all zero for these images — the base does not fit this data/)
  })
})
