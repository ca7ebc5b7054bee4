// ONNX export of the project's real models against TF.js: a reduced AlexNet (grouped convs, LRN, SAME
// stride-4 conv1, VALID pools, NHWC flatten into fc6), its fc7 feature model, and the compact CNN with
// non-trivial BatchNormalization statistics (random moving mean/variance, then two training steps), on
// random inputs and on real GTSRB test images resized the way the pipeline does.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../../../../src/main/ml/tfjs/backend'
import { registerCustomLayers } from '../../../../src/main/ml/layers'
import { createAlexNet, featureModel } from '../../../../src/main/ml/models/alexnet'
import { createCompactCnn } from '../../../../src/main/ml/models/compact'
import { exportOnnx } from '../../../../src/main/ml/export/onnx'
import { OnnxRunner } from '../../../../src/main/ml/evaluate/onnxRuntime'
import { decodeModel } from '../../../../src/main/ml/export/onnxSchema'
import { decodeImage } from '../../../../src/main/image/decode'
import { SHARED_DATA, sharedDataAvailable } from '../../../helpers'
import { compare, input, randomiseWeights, values } from './parity'

beforeAll(async () => {
  // wasm: the compact CNN trains a few steps, which takes ~30x longer on the cpu backend.
  await initBackend({ prefer: 'wasm', logger: () => {} })
  registerCustomLayers()
})

/** ~20 real test images (one or two per class, spread over classes), as [n, 32, 32, 3] floats in [0, 1]. */
async function realImages(count = 20): Promise<{ x: tf.Tensor4D; labels: number[] }> {
  const root = join(SHARED_DATA, 'gtsrb-test')
  const classes = readdirSync(root)
    .map(Number)
    .sort((a, b) => a - b)
  const pixels: number[] = []
  const labels: number[] = []
  for (let i = 0; i < count; i++) {
    const cls = classes[(i * 7) % classes.length]
    const files = readdirSync(join(root, String(cls))).sort()
    const img = await decodeImage(join(root, String(cls), files[(i * 5) % files.length]))
    expect([img.width, img.height]).toEqual([32, 32])
    for (const v of img.data) pixels.push(v / 255)
    labels.push(cls)
  }
  return { x: tf.tensor4d(pixels, [count, 32, 32, 3]), labels }
}

const smallAlexNet = () =>
  createAlexNet({ numClasses: 43, inputSize: 67, width: 0.25, fcUnits: 256, seed: 3, dropout: 0.5 })

describe('ONNX export of the project models', () => {
  it('reduced AlexNet (width 0.25, fc 256, input 67): probabilities match TF.js', async () => {
    const model = smallAlexNet()
    // Larger-than-init weights make the class probabilities spread out, so argmax is a real check.
    randomiseWeights(model, 21, -0.15, 0.15)
    const x = input([6, 67, 67, 3], 4)
    const p = await compare(model, tf.add(tf.mul(x, 0.5), 0.5), {}, 2)
    expect(p.outputSize).toBe(43)
    expect(p.maxAbsDiff).toBeLessThan(1e-4)
    expect(p.decisive).toBeGreaterThan(0)
    expect(p.argmaxMismatches).toBe(0)
  })

  it('fc7 feature export matches TF.js intermediate activations (featureModel)', async () => {
    const model = smallAlexNet()
    const x = tf.add(tf.mul(input([4, 67, 67, 3], 8), 0.5), 0.5)
    const reference = (featureModel(model, 'fc7').predict(x) as tf.Tensor).dataSync()
    const runner = await OnnxRunner.create(exportOnnx(model, { outputLayer: 'fc7' }), { threads: 2 })
    try {
      expect(runner.outputSize).toBe(256)
      const out = await runner.run(x.dataSync() as Float32Array, 4, [67, 67, 3])
      let diff = 0
      let nonzero = 0
      for (let i = 0; i < out.length; i++) {
        diff = Math.max(diff, Math.abs(out[i] - reference[i]))
        if (reference[i] > 0) nonzero++
      }
      expect(diff).toBeLessThan(1e-4)
      // relu features: some active, some not; an all-zero output would match trivially.
      expect(nonzero).toBeGreaterThan(out.length / 10)
      expect(nonzero).toBeLessThan(out.length)
    } finally {
      await runner.dispose()
    }
    // Exporting the feature model itself (what features.ts does) gives the same graph as cutting at fc7.
    const direct = exportOnnx(featureModel(model, 'fc7'))
    const cut = exportOnnx(model, { outputLayer: 'fc7' })
    const ops = (bytes: Uint8Array) => decodeModel(bytes).graph.node.map((n) => `${n.opType}:${n.output[0]}`)
    expect(ops(direct)).toEqual(ops(cut))
    const viaFeatureModel = await compare(featureModel(model, 'fc7'), x, {}, 2)
    expect(viaFeatureModel.maxAbsDiff).toBeLessThan(1e-4)
    // pool5 (rank 4) comes back NHWC: compare through the generic helper too.
    const pool5 = await compare(model, x, { outputLayer: 'pool5' })
    expect(pool5.maxAbsDiff).toBeLessThan(1e-4)
  })

  it('an AlexNet saved and loaded back (custom layers from JSON) exports the same graph', async () => {
    const model = smallAlexNet()
    randomiseWeights(model, 61, -0.15, 0.15)
    let saved: tf.io.ModelArtifacts | undefined
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        saved = artifacts
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }
      })
    )
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!))
    expect(loaded.getLayer('conv2').getClassName()).toBe('GroupedConv2D')
    expect(Buffer.compare(Buffer.from(exportOnnx(loaded)), Buffer.from(exportOnnx(model)))).toBe(0)
    const p = await compare(loaded, tf.add(tf.mul(input([3, 67, 67, 3], 62), 0.5), 0.5), {}, 2)
    expect(p.maxAbsDiff).toBeLessThan(1e-4)
    expect(p.argmaxMismatches).toBe(0)
  })

  it('compact CNN with trained, non-trivial BatchNormalization statistics', async () => {
    const model = createCompactCnn({ numClasses: 10, inputSize: 32, channels: 8, denseUnits: 32, seed: 5 })
    // Random moving statistics (and gammas/betas) for every BN layer, then two real training steps.
    for (const layer of model.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
      const ws = layer.getWeights()
      layer.setWeights(
        ws.map((w, i) =>
          tf.tensor(values(w.size, 100 + i, i === 3 ? 0.3 : i === 0 ? 0.5 : -0.5, i === 3 ? 3 : 1.5), w.shape)
        )
      )
    }
    const bn = model.getLayer('block1_bn1').getWeights()
    const meanBefore = Array.from(bn[2].dataSync())
    model.compile({ optimizer: tf.train.sgd(0.01), loss: 'categoricalCrossentropy' })
    const xs = tf.add(tf.mul(input([16, 32, 32, 3], 12), 0.5), 0.5)
    const ys = tf.oneHot(
      tf.tensor1d(
        Array.from({ length: 16 }, (_, i) => i % 10),
        'int32'
      ),
      10
    )
    await model.fit(xs, ys, { epochs: 2, batchSize: 8, verbose: 0, shuffle: false })
    const meanAfter = Array.from(model.getLayer('block1_bn1').getWeights()[2].dataSync())
    expect(meanAfter).not.toEqual(meanBefore)

    const p = await compare(model, input([8, 32, 32, 3], 13), {}, 2)
    expect(p.maxAbsDiff).toBeLessThan(1e-4)
    expect(p.argmaxMismatches).toBe(0)
    expect(p.decisive).toBeGreaterThan(0)
    // The same model with a GAP head.
    const gap = createCompactCnn({ numClasses: 5, inputSize: 16, channels: 4, head: 'gap', seed: 9 })
    randomiseWeights(gap, 30, -0.3, 0.3)
    const q = await compare(gap, input([4, 16, 16, 3], 14))
    expect(q.maxAbsDiff).toBeLessThan(1e-4)
    expect(q.argmaxMismatches).toBe(0)
  })

  it.skipIf(!sharedDataAvailable())(
    'parity on ~20 real GTSRB images, resized with resizeBilinear',
    async () => {
      const { x, labels } = await realImages(20)
      expect(new Set(labels).size).toBeGreaterThan(10)
      const alex = smallAlexNet()
      randomiseWeights(alex, 41, -0.15, 0.15)
      const resized = tf.image.resizeBilinear(x, [67, 67])
      const a = await compare(alex, resized, {}, 2)
      expect(a.maxAbsDiff).toBeLessThan(1e-4)
      expect(a.decisive).toBeGreaterThan(10)
      expect(a.argmaxMismatches).toBe(0)
      const feats = await compare(alex, resized, { outputLayer: 'fc7' }, 2)
      expect(feats.maxAbs).toBeGreaterThan(1e-2)
      expect(feats.maxAbsDiff).toBeLessThan(1e-4)

      const compact = createCompactCnn({
        numClasses: 43,
        inputSize: 32,
        channels: 8,
        denseUnits: 32,
        seed: 2
      })
      randomiseWeights(compact, 50, -0.3, 0.3)
      const c = await compare(compact, x, {}, 2)
      expect(c.maxAbsDiff).toBeLessThan(1e-4)
      expect(c.decisive).toBeGreaterThan(10)
      expect(c.argmaxMismatches).toBe(0)
    }
  )
})
