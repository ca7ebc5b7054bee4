import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ModelMetadata } from '../../../../src/shared/training'
import { SHARED_DATA, sharedDataAvailable, tempDir } from '../../../helpers'
import { evaluatePredictions } from '../../../../src/main/ml/evaluate/metrics'
import { exportModelFolder } from '../../../../src/main/ml/export/folder'
import { defaultPreprocessing } from '../../../../src/main/ml/data/preprocess'
import { onnxRuntimeAvailable } from '../../../../src/main/ml/evaluate/onnxRuntime'
import {
  classifyExamples,
  evaluateExamples,
  loadClassifier,
  predictFiles,
  predictTopK,
  TfjsClassifier,
  toProbabilities,
  zoomRoi
} from '../../../../src/main/ml/evaluate/classifier'
import type { ClassLabel } from '../../../../src/main/ml/data/types'
import type { Example } from '../../../../src/main/ml/data/types'

const LABELS: ClassLabel[] = [
  { index: 0, classId: 14, key: '14', name: 'Stop' },
  { index: 1, classId: 1, key: '1', name: 'Speed limit (30km/h)' },
  { index: 2, classId: 33, key: '33', name: 'Turn right ahead' }
]

describe('predictTopK / toProbabilities', () => {
  it('ranks classes per row, most probable first, k clamped to the class count', () => {
    const p = Float32Array.from([0.1, 0.7, 0.2, 0.5, 0.25, 0.25])
    const top = predictTopK(p, 2, LABELS)
    expect(top).toHaveLength(2)
    expect(top[0].map((t) => t.classId)).toEqual([1, 33])
    expect(top[0][0]).toMatchObject({ key: '1', name: 'Speed limit (30km/h)' })
    expect(top[0][0].probability).toBeCloseTo(0.7, 6)
    // Tie between index 1 and 2 keeps output-index order.
    expect(top[1].map((t) => t.classId)).toEqual([14, 1])
    expect(predictTopK(p, 10, LABELS)[0]).toHaveLength(3)
    expect(() => predictTopK(Float32Array.from([1, 2]), 1, LABELS)).toThrow(/multiple of 3/)
  })

  it('leaves probability rows alone and softmaxes logits', () => {
    const probs = Float32Array.from([0.2, 0.3, 0.5])
    expect(toProbabilities(probs, 1, 3)).toBe(probs)
    const logits = Float32Array.from([1, 2, 3, 0, 0, 0])
    const p = toProbabilities(logits, 2, 3)
    const e = [Math.exp(1), Math.exp(2), Math.exp(3)]
    const s = e[0] + e[1] + e[2]
    expect(Array.from(p.subarray(0, 3)).map((v) => +v.toFixed(6))).toEqual(e.map((v) => +(v / s).toFixed(6)))
    expect(Array.from(p.subarray(3)).every((v) => Math.abs(v - 1 / 3) < 1e-6)).toBe(true)
  })
})

describe.skipIf(!sharedDataAvailable())('classifiers on a small exported model and real PPMs', () => {
  const prep = defaultPreprocessing('compact', { inputSize: 16 })
  let tmp: { dir: string; remove: () => void }
  let model: tf.LayersModel
  let exportDir: string
  let examples: Example[]

  beforeAll(async () => {
    await tf.setBackend('cpu')
    tmp = tempDir()
    // Fixed seeds: a small untrained CNN is enough to compare runtimes; nothing here claims accuracy.
    model = tf.sequential({
      layers: [
        tf.layers.conv2d({
          inputShape: [16, 16, 3],
          filters: 4,
          kernelSize: 3,
          activation: 'relu',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 1 })
        }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({
          units: 3,
          activation: 'softmax',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 2 })
        })
      ]
    })
    const meta: ModelMetadata = {
      format: 'transfer-studio-model',
      formatVersion: 1,
      appVersion: 'test',
      createdAt: new Date(0).toISOString(),
      strategy: 'custom',
      base: { kind: 'none' },
      model: { architecture: 'compact' },
      preprocessing: prep,
      labels: LABELS,
      metrics: { valAccuracy: null, testAccuracy: null },
      backend: 'cpu'
    }
    exportDir = join(tmp.dir, 'export')
    await exportModelFolder(model, meta, exportDir)
    examples = [14, 1, 33].flatMap((cls, label) =>
      readdirSync(join(SHARED_DATA, 'gtsrb-test', String(cls)))
        .sort()
        .slice(0, 4)
        .map((f) => ({
          imageId: null,
          path: join(SHARED_DATA, 'gtsrb-test', String(cls), f),
          hash: '',
          label,
          roi: null
        }))
    )
  })
  afterAll(() => {
    model.dispose()
    tmp.remove()
  })

  async function reference(): Promise<Float32Array> {
    const r = await classifyExamples(new TfjsClassifier(model, prep, false), examples, { batchSize: 5 })
    return r.probabilities
  }

  it('test-time zoom averages the cropped view and the region zoomed in, only for cropped regions', async () => {
    const cropped = { ...prep, cropToRoi: true }
    const roi = { x1: 4, y1: 3, x2: 28, y2: 29 }
    const withRoi = examples.map((e, i) => (i % 2 === 0 ? { ...e, roi } : e))
    const one = async (p: typeof prep, ex: Example[]): Promise<Float32Array> =>
      (await classifyExamples(new TfjsClassifier(model, p, false), ex, { batchSize: 5 })).probabilities
    const plain = await one(cropped, withRoi)
    const zoomedIn = await one(
      cropped,
      withRoi.map((e) => (e.roi ? { ...e, roi: zoomRoi(e.roi, 0.8) } : e))
    )
    const tta = await one({ ...cropped, testTimeZoom: 0.8 }, withRoi)
    for (let i = 0; i < withRoi.length; i++)
      for (let j = 0; j < 3; j++) {
        const k = i * 3 + j
        // Images with a region: the mean of the two views; without: the one view, as before.
        const want = withRoi[i].roi ? (plain[k] + zoomedIn[k]) / 2 : plain[k]
        expect(Math.abs(tta[k] - want)).toBeLessThan(1e-6)
      }
    // The zoomed view differs, so the average is not the plain view (the check above can fail).
    expect(Array.from(plain).some((v, k) => Math.abs(v - zoomedIn[k]) > 1e-4)).toBe(true)
    // Without cropToRoi the zoom is ignored.
    expect(Array.from(await one({ ...prep, testTimeZoom: 0.8 }, withRoi))).toEqual(
      Array.from(await one(prep, withRoi))
    )
    expect(zoomRoi({ x1: 0, y1: 10, x2: 20, y2: 30 }, 0.5)).toEqual({ x1: 5, y1: 15, x2: 15, y2: 25 })
  })

  it('TfjsClassifier equals model.predict on the same preprocessed batch; rows sum to 1', async () => {
    const r = await classifyExamples(new TfjsClassifier(model, prep, false), examples, { batchSize: 5 })
    expect(r.examples.map((e) => e.path)).toEqual(examples.map((e) => e.path))
    expect(r.probabilities.length).toBe(12 * 3)
    for (let i = 0; i < 12; i++)
      expect(
        Math.abs(r.probabilities[i * 3] + r.probabilities[i * 3 + 1] + r.probabilities[i * 3 + 2] - 1)
      ).toBeLessThan(1e-5)
    // Rows differ between images (the model really sees the pixels).
    expect(
      new Set(Array.from({ length: 12 }, (_, i) => r.probabilities[i * 3].toFixed(5))).size
    ).toBeGreaterThan(6)
    // evaluatePredictions on them agrees with a manual argmax count.
    const ev = evaluatePredictions({ ...r, numClasses: 3, classes: LABELS })
    let correct = 0
    for (let i = 0; i < 12; i++) {
      const row = Array.from(r.probabilities.subarray(i * 3, i * 3 + 3))
      if (row.indexOf(Math.max(...row)) === r.labels[i]) correct++
    }
    expect(ev.accuracy).toBeCloseTo(correct / 12, 10)
  })

  it.skipIf(!onnxRuntimeAvailable())(
    'loadClassifier prefers ONNX and matches TF.js within 1e-4',
    async () => {
      const lines: string[] = []
      const loaded = await loadClassifier(exportDir, {
        prefer: 'onnx',
        threads: 1,
        logger: (l) => lines.push(l)
      })
      expect(loaded.classifier.runtime).toBe('onnx')
      expect(lines.join('\n')).toMatch(/onnxruntime/)
      expect(loaded.labels.map((l) => l.classId)).toEqual([14, 1, 33])
      const r = await classifyExamples(loaded.classifier, examples, { batchSize: 4 })
      const ref = await reference()
      for (let i = 0; i < ref.length; i++) expect(Math.abs(r.probabilities[i] - ref[i])).toBeLessThan(1e-4)
      await loaded.classifier.dispose()
    }
  )

  it('loadClassifier with prefer tfjs runs TF.js, and falls back to TF.js when model.onnx is broken', async () => {
    const a = await loadClassifier(exportDir, { prefer: 'tfjs', logger: () => undefined })
    expect(a.classifier.runtime).toBe('tfjs')
    const ref = await reference()
    const r = await classifyExamples(a.classifier, examples, { batchSize: 12 })
    for (let i = 0; i < ref.length; i++) expect(Math.abs(r.probabilities[i] - ref[i])).toBeLessThan(1e-5)
    await a.classifier.dispose()

    const broken = join(tmp.dir, 'broken')
    await exportModelFolder(
      model,
      JSON.parse(readFileSync(join(exportDir, 'metadata.json'), 'utf8')) as ModelMetadata,
      broken
    )
    writeFileSync(join(broken, 'model.onnx'), 'not an onnx model')
    const lines: string[] = []
    const b = await loadClassifier(broken, { prefer: 'onnx', logger: (l) => lines.push(l) })
    expect(b.classifier.runtime).toBe('tfjs')
    expect(lines.join('\n')).toMatch(/TF\.js .*onnxruntime \(model\.onnx\) unavailable/)
    await b.classifier.dispose()

    rmSync(join(broken, 'model.json'))
    await expect(loadClassifier(broken, { logger: () => undefined })).rejects.toThrow(
      /cannot load the model.*model\.json is not in the export/
    )
    writeFileSync(join(broken, 'metadata.json'), '{"format":"other"}')
    await expect(loadClassifier(broken)).rejects.toThrow(/not Transfer Studio model metadata/)
  })

  it('evaluateExamples reports metrics and the unreadable files', async () => {
    const loaded = await loadClassifier(exportDir, { prefer: 'tfjs', logger: () => undefined })
    const bad = join(tmp.dir, 'missing.ppm')
    const progress: number[] = []
    const ev = await evaluateExamples(loaded, [...examples, { ...examples[0], path: bad }], {
      batchSize: 5,
      onProgress: (done) => progress.push(done)
    })
    expect(ev.images).toBe(12)
    expect(ev.failed.map((f) => f.path)).toEqual([bad])
    expect(ev.classIds).toEqual([14, 1, 33])
    expect(progress[progress.length - 1]).toBe(13)
    const ref = await reference()
    let correct = 0
    for (let i = 0; i < 12; i++) {
      const row = Array.from(ref.subarray(i * 3, i * 3 + 3))
      if (row.indexOf(Math.max(...row)) === examples[i].label) correct++
    }
    expect(ev.accuracy).toBeCloseTo(correct / 12, 10)
    expect(ev.confusion.flat().reduce((a, b) => a + b, 0)).toBe(12)
    await loaded.classifier.dispose()
  })

  it('predictFiles returns top-k per readable file and reports unreadable ones', async () => {
    const loaded = await loadClassifier(exportDir, { prefer: 'tfjs', logger: () => undefined })
    const bad = join(tmp.dir, 'bad.ppm')
    writeFileSync(bad, 'P6\n32 32\n255\n' + 'x'.repeat(10))
    const paths = [examples[0].path, bad, examples[5].path]
    const { predictions, failed } = await predictFiles(loaded, paths, { k: 2 })
    expect(predictions.map((p) => p.path)).toEqual([examples[0].path, examples[5].path])
    expect(predictions[0].top).toHaveLength(2)
    expect(predictions[0].top[0].probability).toBeGreaterThanOrEqual(predictions[0].top[1].probability)
    const ref = await reference()
    const row0 = Array.from(ref.subarray(0, 3))
    expect(predictions[0].top[0].classId).toBe(LABELS[row0.indexOf(Math.max(...row0))].classId)
    expect(failed.map((f) => f.path)).toEqual([bad])
    await loaded.classifier.dispose()
  })
})
