// Model building per strategy: the tutorial's recommendation table, BVLC weights copied into conv1..fc7,
// the new fc8 (truncated normal 1e-2, zero bias), what trains and what is frozen, and the pretrained-rate
// factor acting on the gradients.
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../../../../src/main/ml/tfjs/backend'
import { BVLC_LAYERS, buildModel, recommendStrategy } from '../../../../src/main/ml/models/strategies'
import { readBvlcWeights } from '../../../../src/main/ml/weights/bvlc'
import { train } from '../../../../src/main/ml/train/trainer'
import { computeFeatures } from '../../../../src/main/ml/features/extract'
import { createBatchSource } from '../../../../src/main/ml/data/batches'
import { onnxRuntimeAvailable } from '../../../../src/main/ml/evaluate/onnxRuntime'
import { sharedDataAvailable, tempDir } from '../../../helpers'
import { FIVE, NPY, baseConfig, bvlcConfig, gtsrbTrainData } from '../train/trainerFixtures'

const MISMATCHED = resolve(__dirname, '../../../fixtures/bvlc/tiny-py2.npy')

describe('recommendStrategy', () => {
  it("follows the tutorial's four cases, with the threshold as a parameter", () => {
    expect(recommendStrategy({ imagesPerClass: 1000, similar: true }).strategy).toBe('fine-tune')
    expect(recommendStrategy({ imagesPerClass: 1000, similar: false }).strategy).toBe('retrain')
    expect(recommendStrategy({ imagesPerClass: 50, similar: true }).strategy).toBe('feature-extraction')
    expect(recommendStrategy({ imagesPerClass: 50, similar: false }).strategy).toBe('custom')
    expect(recommendStrategy({ imagesPerClass: 50, similar: true }, 40).strategy).toBe('fine-tune')
    expect(recommendStrategy({ imagesPerClass: 499, similar: false }).reason).toMatch(
      /small \(threshold 500\)/
    )
  })
})

describe('buildModel', () => {
  beforeAll(async () => {
    await initBackend({ logger: () => {} })
  })

  it('fine-tune from BVLC weights: conv1..fc7 copied, new fc8, everything trains', async () => {
    const built = await buildModel(bvlcConfig(), 5)
    const file = await readBvlcWeights(NPY)
    for (const name of BVLC_LAYERS) {
      const [W, b] = built.model.getLayer(name).getWeights()
      expect(Array.from(W.dataSync())).toEqual(Array.from(file[name].W.data))
      expect(Array.from(b.dataSync())).toEqual(Array.from(file[name].b.data))
    }
    const [k, bias] = built.model.getLayer('fc8').getWeights()
    expect(k.shape).toEqual([16, 5])
    expect(Array.from(bias.dataSync()).every((v) => v === 0)).toBe(true)
    const values = Array.from(k.dataSync())
    // Truncated normal, stddev 1e-2: nothing beyond two standard deviations, and not all equal.
    expect(Math.max(...values.map(Math.abs))).toBeLessThanOrEqual(0.02 + 1e-7)
    expect(new Set(values).size).toBeGreaterThan(40)
    expect(built.trainable).toBe(built.model)
    expect(built.model.trainableWeights).toHaveLength(16)
    expect(built.pretrained.size).toBe(14)
    expect(built.baseKey).toMatch(/^bvlc:[0-9a-f]{40}$/)
    built.dispose()
  })

  it('refuses a BVLC file whose shapes do not fit, saying which layer and what to change', async () => {
    await expect(buildModel(bvlcConfig({ base: { kind: 'bvlc-npy', path: MISMATCHED } }), 5)).rejects.toThrow(
      /'conv1' has shapes W \[3,3,3,4\].*expects.*width\/fc units\/input size/
    )
    await expect(buildModel(bvlcConfig({ base: { kind: 'none' } }), 5)).rejects.toThrow(/needs base weights/)
  })

  it('feature extraction: frozen base to fc7, only the fc8 head trains, and the full model shares it', async () => {
    const built = await buildModel(bvlcConfig({ strategy: 'feature-extraction' }), 5)
    expect(built.base).not.toBeNull()
    expect(built.featureDim).toBe(16)
    expect(built.base!.trainableWeights).toHaveLength(0)
    expect(built.trainable.trainableWeights).toHaveLength(2)
    expect(built.model.outputs[0].shape).toEqual([null, 5])
    // One fc8: a change to the head shows up in the full model.
    const head = built.trainable.getLayer('fc8')
    head.setWeights([tf.fill([16, 5], 0.5), tf.zeros([5])])
    expect(built.model.getLayer('fc8').getWeights()[0].dataSync()[0]).toBe(0.5)
    built.dispose()
  })

  it('retrain ignores the base and custom builds the compact CNN', async () => {
    const retrain = await buildModel(bvlcConfig({ strategy: 'retrain' }), 5)
    const file = await readBvlcWeights(NPY)
    expect(Array.from(retrain.model.getLayer('conv1').getWeights()[0].dataSync())).not.toEqual(
      Array.from(file.conv1.W.data)
    )
    expect(retrain.pretrained.size).toBe(0)
    retrain.dispose()
    const custom = await buildModel(baseConfig(), 5)
    expect(custom.model.layers.some((l) => l.name === 'block1_conv1')).toBe(true)
    expect(custom.model.outputs[0].shape).toEqual([null, 5])
    custom.dispose()
  })
})

describe.skipIf(!sharedDataAvailable())('pretrained rate factor', () => {
  let tmp: ReturnType<typeof tempDir>
  beforeAll(async () => {
    await initBackend({ logger: () => {} })
    tmp = tempDir()
  })
  afterAll(() => tmp.remove())

  it('scales the gradients of pretrained layers: factor 0 freezes them while fc8 learns', async () => {
    const data = gtsrbTrainData(FIVE, { perClass: 12 })
    const file = await readBvlcWeights(NPY)
    const frozen = await train(
      bvlcConfig({ epochs: 1, pretrainedRateFactor: 0, optimizer: 'sgd-momentum', learningRate: 0.01 }),
      data,
      {
        runDir: join(tmp.dir, 'f0'),
        onEvent: () => {}
      }
    )
    const m = frozen.built!.model
    for (const name of BVLC_LAYERS) {
      expect(Array.from(m.getLayer(name).getWeights()[0].dataSync())).toEqual(Array.from(file[name].W.data))
    }
    const fc8 = m.getLayer('fc8').getWeights()[1].dataSync()
    expect(Array.from(fc8).some((v) => v !== 0)).toBe(true)
    frozen.built!.dispose()

    const moving = await train(
      bvlcConfig({ epochs: 1, pretrainedRateFactor: 0.5, optimizer: 'sgd-momentum', learningRate: 0.01 }),
      data,
      {
        runDir: join(tmp.dir, 'f05'),
        onEvent: () => {}
      }
    )
    expect(Array.from(moving.built!.model.getLayer('conv1').getWeights()[0].dataSync())).not.toEqual(
      Array.from(file.conv1.W.data)
    )
    moving.built!.dispose()
  })
})

describe.skipIf(!sharedDataAvailable())('fc7 features', () => {
  let tmp: ReturnType<typeof tempDir>
  beforeAll(async () => {
    await initBackend({ logger: () => {} })
    tmp = tempDir()
  })
  afterAll(() => tmp.remove())

  it('are computed once per image by onnxruntime, equal to the TF.js forward pass, then cached', async () => {
    const built = await buildModel(bvlcConfig({ strategy: 'feature-extraction' }), 5)
    const examples = gtsrbTrainData(FIVE, { perClass: 4 }).train
    const common = {
      base: built.base!,
      baseKey: built.baseKey!,
      preprocessing: built.preprocessing,
      examples,
      batchSize: 8,
      makeSource: createBatchSource
    }
    const viaTf = await computeFeatures({ ...common, cacheDir: join(tmp.dir, 'tf'), engine: 'tfjs' })
    const auto = await computeFeatures({ ...common, cacheDir: join(tmp.dir, 'auto') })
    expect(viaTf.engine).toBe('tfjs')
    expect(auto.engine).toBe(onnxRuntimeAvailable() ? 'onnx' : 'tfjs')
    expect(auto.computed).toBe(examples.length)
    for (const e of examples) {
      const a = auto.byHash.get(e.hash)!
      const b = viaTf.byHash.get(e.hash)!
      expect(a).toHaveLength(16)
      for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 3)
    }
    const again = await computeFeatures({ ...common, cacheDir: join(tmp.dir, 'auto') })
    expect(again.engine).toBe('cache')
    expect(again.computed).toBe(0)
    expect(again.byHash.size).toBe(examples.length)
    built.dispose()
  })
})
