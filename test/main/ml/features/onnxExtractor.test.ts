// ONNX models as frozen feature extractors (src/main/ml/features/onnxExtractor.ts).
//   - Against PyTorch: scripts/make-onnx-fixtures.py exports torchvision's resnet18 with torch.onnx.export
//     (opset 13, NCHW, dynamic batch) and records the input of `fc` for 4 real GTSRB images; the extractor
//     must find that tensor on its own (Gemm input, added as an output) and give the same vectors. Needs a
//     python3 with torch and torchvision and the shared data (skipped without, an error under CI).
//   - Without python: the studio's own NHWC export of a small Keras-style classifier (Softmax after Gemm),
//     against TF.js's feature model; the errors (not a file, not ONNX, too large, no image input, unknown
//     output, no classifier head).
import { execFile } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { exportOnnx } from '../../../../src/main/ml/export/onnx'
import { decodeModel, encodeModel } from '../../../../src/main/ml/export/onnxSchema'
import {
  createOnnxFeatureExtractor,
  inspectOnnxModel,
  OnnxModelError,
  type OnnxModelErrorCode
} from '../../../../src/main/ml/features/onnxExtractor'
import { SHARED_DATA, sharedDataAvailable, tempDir } from '../../../helpers'
import { centreRows, compareRows, readF32, torchPython } from '../models/torchvision/reference'
import { randomiseWeights, values } from '../export/parity'

const SCRIPT = join(__dirname, '../../../../scripts/make-onnx-fixtures.py')
const IMAGES = 4

async function errorOf(p: Promise<unknown>): Promise<OnnxModelError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e
  )
  expect(err).toBeInstanceOf(OnnxModelError)
  return err as OnnxModelError
}

async function expectCode(p: Promise<unknown>, code: OnnxModelErrorCode, message: RegExp): Promise<void> {
  const err = await errorOf(p)
  expect(err.code).toBe(code)
  expect(err.message).toMatch(message)
}

const python = torchPython()
const skip = !python
  ? 'no python3 with torch and torchvision (install python3-torch and python3-torchvision, or set TS_PYTHON)'
  : !sharedDataAvailable()
    ? `the shared GTSRB data is missing (${SHARED_DATA})`
    : null

describe.skipIf(skip !== null)('ONNX feature extractor on a PyTorch export of resnet18', () => {
  let tmp: { dir: string; remove: () => void }
  let model: string

  beforeAll(async () => {
    tmp = tempDir('ts-onnx-fixtures-')
    const { stdout } = await promisify(execFile)(
      python!,
      [SCRIPT, tmp.dir, '--images', String(IMAGES), '--data-dir', SHARED_DATA],
      { timeout: 300_000, maxBuffer: 1 << 20 }
    )
    console.log(`make-onnx-fixtures: ${stdout.trim()}`)
    model = join(tmp.dir, 'resnet18.onnx')
  }, 300_000)

  afterAll(() => tmp?.remove())

  it('inspects: NCHW 224 input, one output, features = the Gemm input (512)', async () => {
    const info = await inspectOnnxModel(model)
    console.log(`inspectOnnxModel: ${JSON.stringify(info)}`)
    expect(info.input).toEqual({
      name: 'input',
      layout: 'NCHW',
      size: 224,
      channels: 3,
      fixedSize: true,
      batch: null
    })
    expect(info.outputs).toEqual(['logits'])
    expect(info.featureOutput).not.toBeNull()
    expect(info.featureOutput).not.toBe('logits')
    expect(info.featureDim).toBe(512)
    expect(info.opset).toBe(13)
    expect(info.producer).toMatch(/pytorch/)
  })

  it("extracts PyTorch's fc input for the same preprocessed images; logits by name", async () => {
    const input = readF32(join(tmp.dir, 'input.bin'))
    const reference = readF32(join(tmp.dir, 'features.bin'))
    const t0 = performance.now()
    const extractor = await createOnnxFeatureExtractor(model, { threads: 2 })
    try {
      expect(extractor.featureDim).toBe(512)
      expect(extractor.inputSize).toBe(224)
      expect(extractor.layout).toBe('NCHW')
      const t1 = performance.now()
      const features = await extractor.extract(input, IMAGES)
      const t2 = performance.now()
      expect(features.length).toBe(IMAGES * 512)
      const c = compareRows(features, reference, 512)
      const centred = compareRows(centreRows(features, 512), centreRows(reference, 512), 512)
      console.log(
        `resnet18 ONNX extractor vs PyTorch: min cosine ${Math.min(...c.cosine).toFixed(7)}, max rel diff ` +
          `${Math.max(...c.relMaxDiff).toExponential(2)}, centred min cosine ` +
          `${Math.min(...centred.cosine).toFixed(7)}; open ${(t1 - t0).toFixed(0)} ms, ${IMAGES} images ` +
          `${(t2 - t1).toFixed(0)} ms`
      )
      for (let i = 0; i < IMAGES; i++) {
        expect(c.cosine[i], `cosine, image ${i}`).toBeGreaterThanOrEqual(0.9999)
        expect(c.relMaxDiff[i], `rel max diff, image ${i}`).toBeLessThanOrEqual(1e-3)
        expect(centred.cosine[i], `centred cosine, image ${i}`).toBeGreaterThanOrEqual(0.999)
      }
      // One image at a time gives the same vectors (dynamic batch).
      const one = await extractor.extract(input.subarray(224 * 224 * 3, 2 * 224 * 224 * 3), 1)
      expect(compareRows(one, features.subarray(512, 1024), 512).cosine[0]).toBeGreaterThan(0.999999)
    } finally {
      await extractor.dispose()
    }

    const logits = await createOnnxFeatureExtractor(model, { output: 'logits', threads: 2 })
    try {
      expect(logits.featureDim).toBe(1000)
      const l = compareRows(await logits.extract(input, IMAGES), readF32(join(tmp.dir, 'logits.bin')), 1000)
      for (const cos of l.cosine) expect(cos).toBeGreaterThanOrEqual(0.9999)
    } finally {
      await logits.dispose()
    }
  })

  it('a wrong output name is a clear error', async () => {
    await expectCode(
      createOnnxFeatureExtractor(model, { output: 'fc7' }),
      'output-not-found',
      /has no tensor 'fc7' \(outputs: logits\)/
    )
  })
})

if (skip)
  describe('ONNX feature extractor on a PyTorch export of resnet18', () =>
    it.skip(`skipped: ${skip}`, () => {}))

describe('ONNX feature extractor on the studio export and bad files', () => {
  let tmp: { dir: string; remove: () => void }

  beforeAll(async () => {
    await tf.setBackend('cpu')
    tmp = tempDir('ts-onnx-extractor-')
  })

  afterAll(() => tmp?.remove())

  /** A small classifier: conv -> global pool -> Dense(6, relu) 'feats' -> Dense(3, softmax). */
  function classifier(size: number): { model: tf.LayersModel; features: tf.LayersModel } {
    const inp = tf.input({ shape: [size, size, 3] })
    const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu' }).apply(inp)
    const pooled = tf.layers.globalAveragePooling2d({}).apply(conv)
    const feats = tf.layers.dense({ units: 6, activation: 'relu', name: 'feats' }).apply(pooled)
    const out = tf.layers.dense({ units: 3, activation: 'softmax', name: 'head' }).apply(feats)
    const model = tf.model({ inputs: inp, outputs: out as tf.SymbolicTensor })
    randomiseWeights(model, 3)
    return { model, features: tf.model({ inputs: inp, outputs: feats as tf.SymbolicTensor }) }
  }

  it('the studio export (NHWC): Softmax after Gemm is a classifier; features match TF.js', async () => {
    const { model, features } = classifier(12)
    const path = join(tmp.dir, 'studio.onnx')
    writeFileSync(path, exportOnnx(model))
    const info = await inspectOnnxModel(path)
    expect(info.input).toMatchObject({ name: 'input', layout: 'NHWC', size: 12, batch: null })
    expect(info.outputs).toEqual(['output'])
    expect(info.featureDim).toBe(6)
    const x = values(5 * 12 * 12 * 3, 8)
    const t = features.predict(tf.tensor4d(x, [5, 12, 12, 3])) as tf.Tensor
    const expected = t.dataSync() as Float32Array
    t.dispose()
    const extractor = await createOnnxFeatureExtractor(path, { threads: 1 })
    try {
      expect(extractor.output).toBe(info.featureOutput)
      const got = await extractor.extract(x, 5)
      for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(expected[i], 5)
      await expectCode(extractor.extract(x, 4), 'bad-batch', /expected 4 x 12 x 12 x 3/)
    } finally {
      await extractor.dispose()
    }
    // A named graph output runs as it is, its width from the declared shape.
    const probs = await createOnnxFeatureExtractor(path, { output: 'output', threads: 1 })
    try {
      expect(probs.featureDim).toBe(3)
      const p = await probs.extract(x, 5)
      expect(p.subarray(0, 3).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5)
    } finally {
      await probs.dispose()
    }
  })

  it('a fixed batch size runs in chunks of it, the last one padded', async () => {
    const { model, features } = classifier(10)
    // The studio export holds only fields its schema knows, so a decode-encode round trip keeps it whole.
    const onnx = decodeModel(exportOnnx(model))
    onnx.graph.input[0].type.tensorType.shape.dim[0] = { dimValue: 2 }
    const path = join(tmp.dir, 'batch2.onnx')
    writeFileSync(path, encodeModel(onnx))
    expect((await inspectOnnxModel(path)).input.batch).toBe(2)
    const x = values(5 * 10 * 10 * 3, 11)
    const t = features.predict(tf.tensor4d(x, [5, 10, 10, 3])) as tf.Tensor
    const expected = t.dataSync() as Float32Array
    t.dispose()
    const e = await createOnnxFeatureExtractor(path, { threads: 1 })
    try {
      const got = await e.extract(x, 5)
      expect(got.length).toBe(expected.length)
      for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(expected[i], 5)
    } finally {
      await e.dispose()
    }
  })

  it('a model without a classifier head has no featureOutput; an intermediate tensor can be named', async () => {
    const inp = tf.input({ shape: [8, 8, 3] })
    const conv = tf.layers.conv2d({ filters: 5, kernelSize: 3, name: 'conv' }).apply(inp)
    const pooled = tf.layers.globalAveragePooling2d({}).apply(conv) as tf.SymbolicTensor
    const m = tf.model({ inputs: inp, outputs: pooled })
    randomiseWeights(m, 4)
    const path = join(tmp.dir, 'embedder.onnx')
    writeFileSync(path, exportOnnx(m))
    const info = await inspectOnnxModel(path)
    expect(info.featureOutput).toBeNull()
    expect(info.featureDim).toBeNull()
    await expectCode(createOnnxFeatureExtractor(path), 'no-feature-output', /name the output to use/)
    // 'conv/conv' is the Conv's output in the exporter's naming (NCHW [N, 5, 6, 6]): 180 values per image.
    const e = await createOnnxFeatureExtractor(path, { output: 'conv/conv', threads: 1 })
    try {
      expect(e.featureDim).toBe(180)
      expect((await e.extract(values(2 * 8 * 8 * 3, 2), 2)).length).toBe(360)
    } finally {
      await e.dispose()
    }
  })

  it('refuses a folder, a missing file, a non-ONNX file, an oversized file and a model on vectors', async () => {
    await expectCode(inspectOnnxModel(tmp.dir), 'not-a-file', /is not a regular file/)
    await expectCode(inspectOnnxModel(join(tmp.dir, 'nope.onnx')), 'not-a-file', /no such file/)
    const text = join(tmp.dir, 'notes.onnx')
    writeFileSync(text, 'This is a text file, not a model.\n'.repeat(20))
    await expectCode(inspectOnnxModel(text), 'not-onnx', /is not an ONNX model/)
    const json = join(tmp.dir, 'model.json')
    writeFileSync(json, JSON.stringify({ modelTopology: {}, weightsManifest: [] }))
    await expectCode(createOnnxFeatureExtractor(json), 'not-onnx', /is not an ONNX model/)
    const empty = join(tmp.dir, 'empty.onnx')
    writeFileSync(empty, '')
    await expectCode(inspectOnnxModel(empty), 'not-onnx', /is empty/)

    const { model } = classifier(6)
    const big = join(tmp.dir, 'big.onnx')
    writeFileSync(big, exportOnnx(model))
    await expectCode(inspectOnnxModel(big, { maxBytes: 100 }), 'too-large', /bytes, more than the 100/)

    const vectors = tf.sequential({
      layers: [tf.layers.inputLayer({ inputShape: [7] }), tf.layers.dense({ units: 2 })]
    })
    const vpath = join(tmp.dir, 'vectors.onnx')
    writeFileSync(vpath, exportOnnx(vectors))
    await expectCode(
      inspectOnnxModel(vpath),
      'no-image-input',
      /no image input found \(a 4-D float input with 3 channels, NCHW or NHWC\); inputs: input float \[\?, 7\]/
    )
    mkdirSync(join(tmp.dir, 'dir.onnx'))
    await expectCode(
      createOnnxFeatureExtractor(join(tmp.dir, 'dir.onnx')),
      'not-a-file',
      /not a regular file/
    )
  })
})
