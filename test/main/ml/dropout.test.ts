// Dropout must draw a new mask at every training step (tfjs reseeds a seeded Dropout per call, which
// freezes the mask: half the units would never train yet count at inference). Checked on both models.
import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { createAlexNet } from '../../../src/main/ml/models/alexnet'
import { createCompactCnn } from '../../../src/main/ml/models/compact'

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
