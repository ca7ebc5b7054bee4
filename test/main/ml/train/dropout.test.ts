// Dropout must draw a new mask at every training step (tfjs reseeds a seeded Dropout per call, which
// freezes the mask: half the units would never train yet count at inference). Checked on both models.
// The trainer reseeds every Dropout per step from the run's seed, so a run with dropout repeats exactly.
import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { createAlexNet } from '../../../../src/main/ml/models/alexnet'
import { createCompactCnn } from '../../../../src/main/ml/models/compact'
import { train } from '../../../../src/main/ml/train/trainer'
import { dropoutLayers, reseedDropout } from '../../../../src/main/ml/train/gradients'
import { baseConfig, FIVE, gtsrbTrainData } from './trainerFixtures'
import { sharedDataAvailable, tempDir } from '../../../helpers'

/** Which units of the named dropout layer's output are zero, for two training-mode calls. */
function masks(model: tf.LayersModel, layer: string, x: tf.Tensor): [string, string] {
  const sub = tf.model({ inputs: model.inputs, outputs: model.getLayer(layer).output as tf.SymbolicTensor })
  const once = (): string =>
    tf.tidy(() =>
      Array.from((sub.apply(x, { training: true }) as tf.Tensor).dataSync())
        .map((v) => (v === 0 ? '0' : '1'))
        .join('')
    )
  return [once(), once()]
}

describe('dropout masks', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu')
  })

  it('differ between steps in AlexNet (seeded weights)', () => {
    const model = createAlexNet({ numClasses: 3, inputSize: 67, width: 0.125, fcUnits: 64, seed: 5 })
    const x = tf.randomUniform([2, 67, 67, 3], 0, 1, 'float32', 1)
    const [a, b] = masks(model, 'drop7', x)
    expect(a).toContain('1')
    expect(a).not.toBe(b)
    x.dispose()
    model.dispose()
  })

  it('differ between steps in the compact CNN (seeded weights)', () => {
    const model = createCompactCnn({ numClasses: 3, inputSize: 16, channels: 4, seed: 5 })
    const x = tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 1)
    const [a, b] = masks(model, 'dropout', x)
    expect(a).toContain('1')
    expect(a).not.toBe(b)
    x.dispose()
    model.dispose()
  })
})

describe('dropout in the trainer', () => {
  it('reseeding draws a new mask per step and the same mask for the same step', () => {
    const model = createCompactCnn({ numClasses: 3, inputSize: 16, channels: 4, seed: 5 })
    const layers = dropoutLayers(model)
    expect(layers.map((l) => l.name)).toEqual(['dropout'])
    const x = tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 1)
    const at = (step: number): string => {
      reseedDropout(layers, 42, step)
      return masks(model, 'dropout', x)[0]
    }
    expect(at(3)).toBe(at(3))
    expect(at(3)).not.toBe(at(4))
    x.dispose()
    model.dispose()
  })

  it.skipIf(!sharedDataAvailable())('a run with dropout repeats exactly with the same seed', async () => {
    const tmp = tempDir()
    const data = gtsrbTrainData(FIVE, { perClass: 24 })
    const config = baseConfig({ epochs: 2, model: { ...baseConfig().model, dropout: 0.5 } })
    const run = async (name: string): Promise<number[]> => {
      const r = await train(config, data, { runDir: `${tmp.dir}/${name}`, onEvent: () => {} })
      r.built?.dispose()
      return r.history.map((h) => h.trainLoss)
    }
    try {
      const [a, b] = [await run('a'), await run('b')]
      expect(a).toHaveLength(2)
      expect(b).toEqual(a)
    } finally {
      tmp.remove()
    }
  })
})
