// The export folder: its files, metadata and README; TF.js and ONNX copies that predict the same as the
// trained model; all-or-nothing writing; refusing a non-empty target; copying an export with new metrics.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import type { ModelMetadata } from '../../../../src/shared/training'
import { initBackend } from '../../../../src/main/ml/tfjs/backend'
import { buildModel, type BuiltModel } from '../../../../src/main/ml/models/strategies'
import { buildMetadata, copyExportFolder, exportModelFolder } from '../../../../src/main/ml/export/folder'
import { loadModel } from '../../../../src/main/ml/tfjs/ioHandlers'
import { OnnxRunner, onnxRuntimeAvailable } from '../../../../src/main/ml/evaluate/onnxRuntime'
import { loadClassifier } from '../../../../src/main/ml/evaluate/classifier'
import { tempDir } from '../../../helpers'
import { bvlcConfig, classLabels, FIVE } from '../train/trainerFixtures'

describe('export folder', () => {
  let tmp: ReturnType<typeof tempDir>
  let built: BuiltModel
  let meta: ModelMetadata
  const config = bvlcConfig()
  beforeAll(async () => {
    await initBackend({ logger: () => {} })
    tmp = tempDir()
    built = await buildModel(config, FIVE.length)
    meta = buildMetadata({
      config,
      preprocessing: built.preprocessing,
      classes: classLabels(FIVE),
      valAccuracy: 0.5,
      testAccuracy: null,
      backend: 'wasm'
    })
  })
  afterAll(() => {
    built.dispose()
    tmp.remove()
  })

  it('writes model.json + weights, model.onnx, labels, metadata and a README', async () => {
    const dir = join(tmp.dir, 'out', 'signs-model')
    const r = await exportModelFolder(built.model, meta, dir)
    expect(r.onnxError).toBeNull()
    expect(r.files).toEqual([
      'README.md',
      'labels.json',
      'metadata.json',
      'model.json',
      'model.onnx',
      'weights.bin'
    ])
    const m = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8')) as ModelMetadata
    expect(m.format).toBe('transfer-studio-model')
    expect(m.strategy).toBe('fine-tune')
    expect(m.preprocessing).toEqual(config.preprocessing)
    expect(m.labels.map((l) => l.name)).toContain('Stop')
    expect(JSON.parse(readFileSync(join(dir, 'labels.json'), 'utf8'))).toEqual(m.labels)
    const readme = readFileSync(join(dir, 'README.md'), 'utf8')
    expect(readme).toMatch(/\[batch, 67, 67, 3\]/)
    expect(readme).toMatch(/BGR/)
    expect(readme).toMatch(/onnxruntime/)
    expect(readme).toMatch(/loadLayersModel/)
    // Nothing else beside the target (no temporary folder left).
    expect(readdirSync(join(tmp.dir, 'out'))).toEqual(['signs-model'])

    // Both copies predict what the trained model predicts.
    const x = tf.randomUniform([3, 67, 67, 3], -100, 100, 'float32', 1)
    const want = (built.model.predict(x) as tf.Tensor).dataSync()
    const reloaded = await loadModel(dir)
    const got = (reloaded.predict(x) as tf.Tensor).dataSync()
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i], 5)
    reloaded.dispose()
    if (onnxRuntimeAvailable()) {
      const runner = await OnnxRunner.create(join(dir, 'model.onnx'))
      const onnx = await runner.run(x.dataSync() as Float32Array, 3, [67, 67, 3])
      for (let i = 0; i < want.length; i++) expect(onnx[i]).toBeCloseTo(want[i], 4)
      await runner.dispose()
    }
    x.dispose()
    // And the engine's own loader reads it.
    const loaded = await loadClassifier(dir, { logger: () => {} })
    expect(loaded.labels).toHaveLength(FIVE.length)
    await loaded.classifier.dispose()
  })

  it('refuses a non-empty target and leaves it untouched', async () => {
    const dir = join(tmp.dir, 'busy')
    mkdirSync(dir)
    writeFileSync(join(dir, 'notes.txt'), 'keep me')
    await expect(exportModelFolder(built.model, meta, dir)).rejects.toThrow(
      /not empty; choose a new or empty folder/
    )
    expect(readdirSync(dir)).toEqual(['notes.txt'])
    // An empty folder is fine.
    const empty = join(tmp.dir, 'empty')
    mkdirSync(empty)
    await exportModelFolder(built.model, meta, empty, { onnx: false })
    expect(existsSync(join(empty, 'model.json'))).toBe(true)
    expect(readFileSync(join(empty, 'README.md'), 'utf8')).toMatch(/model.onnx was not written/)
  })

  it('a failure half way leaves neither the target nor a temporary folder', async () => {
    const parent = join(tmp.dir, 'fail')
    mkdirSync(parent)
    const broken = { save: () => Promise.reject(new Error('disk full')) } as unknown as tf.LayersModel
    await expect(exportModelFolder(broken, meta, join(parent, 'model'))).rejects.toThrow(/disk full/)
    expect(readdirSync(parent)).toEqual([])
  })

  it('copies an export with updated metrics', async () => {
    const from = join(tmp.dir, 'out', 'signs-model')
    const to = join(tmp.dir, 'copy')
    const r = await copyExportFolder(from, to, {
      metrics: { valAccuracy: 0.8407445708376422, testAccuracy: 0.75 }
    })
    expect(r.files).toContain('model.onnx')
    const metrics = JSON.parse(readFileSync(join(to, 'metadata.json'), 'utf8')).metrics
    expect(metrics).toEqual({ valAccuracy: 0.8407445708376422, testAccuracy: 0.75 })
    // The README is for people: percentages with two decimals, never the raw float (metadata.json has it).
    const readme = readFileSync(join(to, 'README.md'), 'utf8')
    expect(readme).toMatch(/Validation accuracy: 84\.07 %; test accuracy: 75\.00 %/)
    expect(readme).not.toMatch(/\d\.\d{9,}/)
    await expect(copyExportFolder(from, to)).rejects.toThrow(/not empty/)
    await expect(copyExportFolder(resolve(tmp.dir), join(tmp.dir, 'x'))).rejects.toThrow(
      /not an export folder/
    )
  })
})
