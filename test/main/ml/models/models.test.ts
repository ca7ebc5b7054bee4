// AlexNet and the compact CNN: shapes, names and BVLC weight layout, feature extraction, serialisation,
// and that a few optimiser steps on the wasm backend actually fit a tiny fixed batch.
import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../../../../src/main/ml/tfjs/backend'
import {
  ALEXNET_LAYER_NAMES,
  alexnetWeightShapes,
  createAlexNet,
  featureModel
} from '../../../../src/main/ml/models/alexnet'
import { createCompactCnn, defaultDepth } from '../../../../src/main/ml/models/compact'

const SMALL = { numClasses: 4, width: 0.25, fcUnits: 256, inputSize: 67, seed: 7 }

/** A tiny fixed batch: class k images carry a bright square in quadrant k, plus noise. */
function tinyBatch(size: number, numClasses: number, n = 8): { x: tf.Tensor4D; y: tf.Tensor2D } {
  return tf.tidy(() => {
    const labels = Array.from({ length: n }, (_, i) => i % numClasses)
    const half = Math.floor(size / 2)
    const images = labels.map((k, i) => {
      const noise = tf.randomUniform([size, size, 3], -0.2, 0.2, 'float32', 100 + i)
      const mask = tf.buffer([size, size, 3])
      const [oy, ox] = [(k >> 1) * half, (k & 1) * half]
      for (let yy = oy; yy < oy + half; yy++)
        for (let xx = ox; xx < ox + half; xx++) for (let c = 0; c < 3; c++) mask.set(1, yy, xx, c)
      return noise.add(mask.toTensor())
    })
    return {
      x: tf.stack(images) as tf.Tensor4D,
      y: tf.oneHot(tf.tensor1d(labels, 'int32'), numClasses).toFloat() as tf.Tensor2D
    }
  })
}

function loss(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): number {
  return tf.tidy(
    () =>
      tf.metrics
        .categoricalCrossentropy(y, model.predict(x) as tf.Tensor)
        .mean()
        .dataSync()[0]
  )
}

async function trainSteps(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor, steps: number, lr: number) {
  const optimizer = tf.train.adam(lr)
  for (let i = 0; i < steps; i++) {
    const l = optimizer.minimize(
      () =>
        tf.metrics
          .categoricalCrossentropy(y, model.apply(x, { training: true }) as tf.Tensor)
          .mean() as tf.Scalar,
      true
    )
    expect(Number.isFinite((await l!.data())[0])).toBe(true)
    l!.dispose()
  }
  optimizer.dispose()
}

describe('AlexNet', () => {
  beforeAll(async () => {
    await initBackend({ prefer: 'wasm', logger: () => {} })
  })

  it('full size: BVLC layer names, weight shapes and a 9216-wide flatten for 227 px', async () => {
    const model = createAlexNet({ numClasses: 1000, seed: 1 })
    const names = model.layers.map((l) => l.name).filter((n) => n !== 'input')
    expect(names).toEqual([...ALEXNET_LAYER_NAMES])
    expect(model.getLayer('pool5').outputShape).toEqual([null, 6, 6, 256])
    expect(model.getLayer('flatten').outputShape).toEqual([null, 9216])
    const shapes = alexnetWeightShapes({ numClasses: 1000 })
    expect(shapes.conv2).toEqual([[5, 5, 48, 256], [256]])
    expect(shapes.fc6).toEqual([[9216, 4096], [4096]])
    for (const [layer, [w, b]] of Object.entries(shapes)) {
      expect(
        model
          .getLayer(layer)
          .getWeights()
          .map((t) => t.shape)
      ).toEqual([w, b])
    }
    expect(model.getLayer('conv4').getClassName()).toBe('GroupedConv2D')
    expect(model.getLayer('conv3').getClassName()).toBe('Conv2D')
    expect(model.getLayer('lrn1').getConfig()).toMatchObject({
      depthRadius: 2,
      alpha: 2e-5,
      beta: 0.75,
      bias: 1
    })
    const p = model.predict(tf.randomUniform([1, 227, 227, 3])) as tf.Tensor
    expect(p.shape).toEqual([1, 1000])
    const sum = (await p.sum().data())[0]
    expect(sum).toBeCloseTo(1, 4) // softmax on fc8
    model.dispose()
  })

  it('reduced config builds with consistent shapes and without LRN/dropout when asked', () => {
    const model = createAlexNet(SMALL)
    const shapes = alexnetWeightShapes(SMALL)
    for (const [layer, [w, b]] of Object.entries(shapes)) {
      expect(
        model
          .getLayer(layer)
          .getWeights()
          .map((t) => t.shape)
      ).toEqual([w, b])
    }
    expect(shapes.conv1[0]).toEqual([11, 11, 3, 24])
    expect(shapes.fc8).toEqual([[256, 4], [4]])
    expect((model.predict(tf.zeros([2, 67, 67, 3])) as tf.Tensor).shape).toEqual([2, 4])
    const bare = createAlexNet({ ...SMALL, includeLrn: false, dropout: 0 })
    const names = bare.layers.map((l) => l.name)
    expect(names).not.toContain('lrn1')
    expect(names).not.toContain('drop6')
    expect(() => createAlexNet({ numClasses: 1 })).toThrow(/numClasses/)
    expect(() => createAlexNet({ numClasses: 3, inputSize: 20 })).toThrow(/too small/)
  })

  it('featureModel shares weights and gives the fc7 activations that feed fc8', async () => {
    const model = createAlexNet(SMALL)
    const features = featureModel(model)
    const x = tf.randomUniform([3, 67, 67, 3], 0, 1, 'float32', 5)
    const f = features.predict(x) as tf.Tensor
    expect(f.shape).toEqual([3, 256])
    expect((await f.min().data())[0]).toBeGreaterThanOrEqual(0) // after relu
    const viaHead = model.getLayer('fc8').apply(f) as tf.Tensor
    const direct = model.predict(x) as tf.Tensor
    const diff = (await tf.abs(viaHead.sub(direct)).max().data())[0]
    expect(diff).toBeLessThan(1e-6)
    expect((featureModel(model, 'pool5').outputs[0].shape as number[]).slice(1)).toEqual([1, 1, 64])
    expect(() => featureModel(model, 'fc9')).toThrow(/no layer 'fc9'/)
  })

  it('saves and reloads through memory IO with identical predictions', async () => {
    const model = createAlexNet(SMALL)
    let saved: tf.io.ModelArtifacts | undefined
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        saved = a
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }
      })
    )
    const reloaded = await tf.loadLayersModel(tf.io.fromMemory(saved!))
    const x = tf.randomUniform([2, 67, 67, 3], 0, 1, 'float32', 9)
    const a = await (model.predict(x) as tf.Tensor).data()
    const b = await (reloaded.predict(x) as tf.Tensor).data()
    expect(Array.from(b)).toEqual(Array.from(a))
  })

  it('a few Adam steps of a reduced AlexNet on wasm fit a tiny fixed batch', async () => {
    expect(tf.getBackend()).toBe('wasm')
    const model = createAlexNet({ ...SMALL, dropout: 0 })
    const { x, y } = tinyBatch(67, 4)
    const before = loss(model, x, y)
    await trainSteps(model, x, y, 15, 1e-3)
    const after = loss(model, x, y)
    expect(after).toBeLessThan(before * 0.5)
  })
})

describe('compact CNN', () => {
  beforeAll(async () => {
    await initBackend({ prefer: 'wasm', logger: () => {} })
  })

  it('picks 3 blocks of 32/64/128 for 32 px, built only from ONNX-mappable layers', () => {
    expect(defaultDepth(32)).toBe(3)
    expect(defaultDepth(64)).toBe(4)
    expect(defaultDepth(8)).toBe(1)
    const model = createCompactCnn({ numClasses: 43, inputSize: 32, seed: 1 })
    const allowed = new Set([
      'InputLayer',
      'Conv2D',
      'BatchNormalization',
      'Activation',
      'MaxPooling2D',
      'GlobalAveragePooling2D',
      'Flatten',
      'Dense',
      'Dropout'
    ])
    for (const l of model.layers) expect(allowed.has(l.getClassName())).toBe(true)
    const convs = model.layers
      .filter((l) => l.getClassName() === 'Conv2D')
      .map((l) => (l.getConfig() as { filters: number }).filters)
    expect(convs).toEqual([32, 32, 64, 64, 128, 128])
    expect(model.getLayer('block3_pool').outputShape).toEqual([null, 4, 4, 128])
    expect((model.predict(tf.zeros([2, 32, 32, 3])) as tf.Tensor).shape).toEqual([2, 43])
    const gap = createCompactCnn({ numClasses: 5, inputSize: 64, head: 'gap', batchNorm: false })
    expect(gap.layers.some((l) => l.getClassName() === 'GlobalAveragePooling2D')).toBe(true)
    expect(gap.layers.some((l) => l.getClassName() === 'BatchNormalization')).toBe(false)
    // No dropout on the flattened features unless asked; asked, it sits between flatten and fc1.
    const names = (m: tf.LayersModel) => m.layers.map((l) => l.name)
    expect(names(model)).not.toContain('flatten_dropout')
    const two = createCompactCnn({ numClasses: 5, inputSize: 32, flattenDropout: 0.25, dropout: 0.25 })
    const at = names(two).indexOf('flatten_dropout')
    expect(names(two).slice(at - 1, at + 2)).toEqual(['flatten', 'flatten_dropout', 'fc1'])
    expect(two.layers.filter((l) => l.getClassName() === 'Dropout')).toHaveLength(2)
  })

  it('trains on wasm (batch norm included): loss falls on a tiny fixed batch', async () => {
    const model = createCompactCnn({ numClasses: 4, inputSize: 32, channels: 8, dropout: 0, seed: 3 })
    const { x, y } = tinyBatch(32, 4)
    const before = loss(model, x, y)
    await trainSteps(model, x, y, 15, 3e-3)
    expect(loss(model, x, y)).toBeLessThan(before * 0.5)
  })
})
