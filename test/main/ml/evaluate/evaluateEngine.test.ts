// Validation after each epoch runs through onnxruntime on the epoch's weights (a frozen forward pass), with
// TF.js as the fallback: both engines must report the same validation loss and accuracy, for an image model
// with batch norm and for the feature-extraction head, and the JS scoring must equal lossAndAccuracy.
import { describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { train } from '../../../../src/main/ml/train/trainer'
import { lossAndAccuracy, scoreProbabilities } from '../../../../src/main/ml/train/gradients'
import type { TrainConfig } from '../../../../src/shared/training'
import { baseConfig, bvlcConfig, FIVE, gtsrbTrainData } from '../train/trainerFixtures'
import { sharedDataAvailable, tempDir } from '../../../helpers'

describe('validation engine', () => {
  it('scores probabilities exactly like lossAndAccuracy (clipping and first-maximum ties included)', () => {
    const p = new Float32Array([0.7, 0.2, 0.1, 0.4, 0.4, 0.2, 0, 0.5, 0.5, 0.1, 0.1, 0.8])
    const y = new Int32Array([0, 1, 0, 2])
    const s = scoreProbabilities(p, y, 4, 3)
    const [loss, acc] = tf.tidy(() => {
      const r = lossAndAccuracy(tf.tensor2d(p, [4, 3]), tf.tensor1d(y, 'int32'), 3)
      return [r.loss.dataSync()[0], r.acc.dataSync()[0]]
    })
    // Row 2 ties 0.4/0.4: the first (class 0) is predicted, so label 1 is wrong; row 3 gives p=0 -> clipped.
    expect(s.correct).toBe(2)
    expect(s.correct / 4).toBeCloseTo(acc, 6)
    expect(s.lossSum / 4).toBeCloseTo(loss, 4)
  })

  describe.skipIf(!sharedDataAvailable())('on real signs', () => {
    const data = gtsrbTrainData(FIVE, { perClass: 30 })
    const history = async (config: TrainConfig, evaluateWith: 'auto' | 'tfjs') => {
      const tmp = tempDir()
      try {
        const r = await train(config, data, { runDir: tmp.dir, onEvent: () => {}, evaluateWith })
        r.built?.dispose()
        expect(r.valEngine).toBe(evaluateWith === 'auto' ? 'onnx' : 'tfjs')
        return r.history
      } finally {
        tmp.remove()
      }
    }

    it('gives the same validation figures through onnxruntime as through TF.js', async () => {
      for (const config of [
        baseConfig({ epochs: 2, model: { architecture: 'compact', width: 0.25, fcUnits: 32, dropout: 0.3 } }),
        bvlcConfig({ strategy: 'feature-extraction', epochs: 2 })
      ]) {
        const onnx = await history(config, 'auto')
        const tfjs = await history(config, 'tfjs')
        expect(onnx).toHaveLength(2)
        onnx.forEach((h, i) => {
          expect(h.trainLoss).toBe(tfjs[i].trainLoss)
          expect(h.valAccuracy).toBe(tfjs[i].valAccuracy)
          expect(Math.abs(h.valLoss! - tfjs[i].valLoss!)).toBeLessThan(1e-4 * Math.max(1, tfjs[i].valLoss!))
        })
      }
    })
  })
})
