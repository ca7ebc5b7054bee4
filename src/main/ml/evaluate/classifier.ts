// Running a trained classifier: the `Classifier` interface with an onnxruntime and a TF.js implementation,
// loading an export folder (preferring ONNX, falling back to TF.js), top-k predictions, and the loop that
// feeds BatchSource batches through a classifier for evaluation and prediction. The app runs prediction in
// the inference worker process (ml/worker/inferenceWorker.ts), never on the backend's event loop.
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join, resolve } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import type { EvaluationResult, ModelMetadata, Prediction, Preprocessing } from '../../../shared/training'
import type { Roi } from '../../../shared/types'
import { backendInfo, initBackend } from '../tfjs/backend'
import { createBatchSource, type CreateBatchSourceOptions } from '../data/batches'
import { evaluatePredictions } from './metrics'
import { loadModel } from '../tfjs/ioHandlers'
import { registerCustomLayers } from '../layers'
import { OnnxRunner } from './onnxRuntime'
import type { OnnxFeatureExtractor } from '../features/onnxExtractor'
import { validatePreprocessing } from '../data/preprocess'
import type { ClassLabel, Example } from '../data/types'
import { readJsonBoundedSync, resolveInside } from '../../fs/safeFile'

/** Output index -> class, as in `ModelMetadata.labels`. */
/** A model that turns preprocessed NHWC batches into class probabilities. */
export interface Classifier {
  readonly numClasses: number
  /** How inputs must be prepared (from the model's metadata). */
  readonly preprocessing: Preprocessing
  /** Which engine runs it, for logs and the UI. */
  readonly runtime: 'onnx' | 'tfjs'
  /** `size` images (size * inputSize^2 * 3 floats) -> size * numClasses probabilities (rows sum to 1). */
  predict(batch: Float32Array, size: number): Promise<Float32Array>
  dispose(): Promise<void>
}

/**
 * Rows that already are probability distributions are returned as they are; anything else (logits from a
 * model exported without its softmax) gets a softmax per row.
 */
export function toProbabilities(out: Float32Array, size: number, n: number): Float32Array {
  let isProb = true
  for (let r = 0; r < size && isProb; r++) {
    let sum = 0
    for (let j = 0; j < n; j++) {
      const v = out[r * n + j]
      if (!(v >= 0 && v <= 1)) {
        isProb = false
        break
      }
      sum += v
    }
    if (Math.abs(sum - 1) > 1e-3) isProb = false
  }
  if (isProb) return out
  const p = new Float32Array(size * n)
  for (let r = 0; r < size; r++) {
    let max = -Infinity
    for (let j = 0; j < n; j++) max = Math.max(max, out[r * n + j])
    let sum = 0
    for (let j = 0; j < n; j++) sum += p[r * n + j] = Math.exp(out[r * n + j] - max)
    for (let j = 0; j < n; j++) p[r * n + j] /= sum
  }
  return p
}

function checkBatch(batch: Float32Array, size: number, prep: Preprocessing): void {
  const per = prep.inputSize * prep.inputSize * 3
  if (!Number.isInteger(size) || size < 1) throw new Error(`batch size must be >= 1, got ${size}`)
  if (batch.length < size * per)
    throw new Error(`batch has ${batch.length} floats, ${size} images need ${size * per}`)
}

/** A TF.js layers model (the export's model.json, or a model in memory). */
export class TfjsClassifier implements Classifier {
  readonly runtime = 'tfjs' as const
  readonly numClasses: number

  constructor(
    private readonly model: tf.LayersModel,
    readonly preprocessing: Preprocessing,
    /** Dispose the model with the classifier (true when the classifier loaded it). */
    private readonly owns = true
  ) {
    const shape = model.outputs[0].shape
    const n = shape[shape.length - 1]
    if (shape.length !== 2 || typeof n !== 'number')
      throw new Error(`classifier output must be [batch, classes], got [${shape.join(', ')}]`)
    this.numClasses = n
  }

  async predict(batch: Float32Array, size: number): Promise<Float32Array> {
    checkBatch(batch, size, this.preprocessing)
    const S = this.preprocessing.inputSize
    const y = tf.tidy(() => {
      const x = tf.tensor4d(batch.subarray(0, size * S * S * 3), [size, S, S, 3])
      return this.model.predict(x) as tf.Tensor
    })
    try {
      return toProbabilities((await y.data()) as Float32Array, size, this.numClasses)
    } finally {
      y.dispose()
    }
  }

  async dispose(): Promise<void> {
    if (this.owns) this.model.dispose()
  }
}

/** An exported `model.onnx` run by onnxruntime-node. */
export class OnnxClassifier implements Classifier {
  readonly runtime = 'onnx' as const
  readonly numClasses: number

  private constructor(
    private readonly runner: OnnxRunner,
    readonly preprocessing: Preprocessing
  ) {
    this.numClasses = runner.outputSize
  }

  /** Throws `OnnxRuntimeUnavailable` when onnxruntime-node cannot be loaded. */
  static async create(
    model: Uint8Array | string,
    preprocessing: Preprocessing,
    opts: { threads?: number } = {}
  ): Promise<OnnxClassifier> {
    validatePreprocessing(preprocessing)
    return new OnnxClassifier(await OnnxRunner.create(model, { threads: opts.threads }), preprocessing)
  }

  async predict(batch: Float32Array, size: number): Promise<Float32Array> {
    checkBatch(batch, size, this.preprocessing)
    const S = this.preprocessing.inputSize
    const out = await this.runner.run(batch.subarray(0, size * S * S * 3), size, [S, S, 3])
    return toProbabilities(out, size, this.numClasses)
  }

  async dispose(): Promise<void> {
    await this.runner.dispose()
  }
}

/**
 * A head trained on an ONNX base's features (metadata.frozenBase): base.onnx up to its feature tensor, then
 * head.onnx, both in onnxruntime. There is no TF.js fallback: the base exists only as ONNX.
 */
export class FrozenOnnxClassifier implements Classifier {
  readonly runtime = 'onnx' as const
  readonly numClasses: number

  private constructor(
    private readonly extractor: OnnxFeatureExtractor,
    private readonly head: OnnxRunner,
    readonly preprocessing: Preprocessing
  ) {
    this.numClasses = head.outputSize
  }

  static async create(
    exportDir: string,
    meta: ModelMetadata,
    opts: { threads?: number } = {}
  ): Promise<FrozenOnnxClassifier> {
    const fb = meta.frozenBase!
    validatePreprocessing(meta.preprocessing)
    const { createOnnxFeatureExtractor } = await import('../features/onnxExtractor')
    // Both file names come from metadata.json: they must name files inside the export folder.
    const baseFile = await resolveInside(exportDir, fb.file, 'base model file')
    const headFile = await resolveInside(exportDir, fb.head, 'head model file')
    const extractor = await createOnnxFeatureExtractor(baseFile, {
      output: fb.output,
      threads: opts.threads
    })
    try {
      if (extractor.inputSize !== meta.preprocessing.inputSize) {
        throw new Error(
          `${fb.file} takes ${extractor.inputSize} px images, metadata.json says ${meta.preprocessing.inputSize}`
        )
      }
      const head = await OnnxRunner.create(headFile, { threads: opts.threads })
      return new FrozenOnnxClassifier(extractor, head, meta.preprocessing)
    } catch (err) {
      await extractor.dispose()
      throw err
    }
  }

  async predict(batch: Float32Array, size: number): Promise<Float32Array> {
    checkBatch(batch, size, this.preprocessing)
    const S = this.preprocessing.inputSize
    const features = await this.extractor.extract(batch.subarray(0, size * S * S * 3), size)
    const out = await this.head.run(features, size, [this.extractor.featureDim])
    return toProbabilities(out, size, this.numClasses)
  }

  async dispose(): Promise<void> {
    await this.extractor.dispose()
    await this.head.dispose()
  }
}

/** Reads and checks an export folder's metadata.json. */
export function readModelMetadata(exportDir: string): ModelMetadata {
  const file = join(exportDir, 'metadata.json')
  if (!existsSync(file))
    throw new Error(`${exportDir} is not a Transfer Studio export: metadata.json is missing`)
  // Bounded: a regular file of at most MAX_JSON_BYTES (a FIFO or /dev/zero is refused before it is read).
  const meta = readJsonBoundedSync(file, undefined, 'model metadata file') as ModelMetadata
  if (meta?.format !== 'transfer-studio-model')
    throw new Error(`${file} is not Transfer Studio model metadata`)
  if (meta.formatVersion !== 1)
    throw new Error(`${file} has format version ${meta.formatVersion}; this version reads 1`)
  if (!Array.isArray(meta.labels) || meta.labels.length === 0) throw new Error(`${file} lists no labels`)
  validatePreprocessing(meta.preprocessing)
  return meta
}

export interface LoadClassifierOptions {
  /** Default 'onnx' (faster on the CPU); falls back to TF.js when onnxruntime or model.onnx is unusable. */
  prefer?: 'onnx' | 'tfjs'
  threads?: number
  /** Where the "which runtime runs" line goes; default console.log. */
  logger?: (line: string) => void
}

export interface LoadedClassifier {
  classifier: Classifier
  metadata: ModelMetadata
  /** Labels sorted by output index. */
  labels: ClassLabel[]
}

/** Loads an export folder (metadata.json + model.onnx and/or model.json + weights). */
export async function loadClassifier(
  exportDir: string,
  opts: LoadClassifierOptions = {}
): Promise<LoadedClassifier> {
  const log = opts.logger ?? ((line: string) => console.log(line))
  const metadata = readModelMetadata(exportDir)
  const labels = [...metadata.labels].sort((a, b) => a.index - b.index)
  const prep = metadata.preprocessing
  const onnxPath = join(exportDir, 'model.onnx')
  const tfjsPath = join(exportDir, 'model.json')
  const tryOnnx = async (): Promise<Classifier> => {
    if (!existsSync(onnxPath)) throw new Error('model.onnx is not in the export')
    return OnnxClassifier.create(onnxPath, prep, { threads: opts.threads })
  }
  const tryTfjs = async (): Promise<Classifier> => {
    if (!existsSync(tfjsPath)) throw new Error('model.json is not in the export')
    if (!backendInfo()) await initBackend({ logger: log })
    registerCustomLayers()
    return new TfjsClassifier(await loadModel(exportDir), prep)
  }
  const openFrozen = async (): Promise<Classifier> => {
    let frozen: Classifier
    try {
      frozen = await FrozenOnnxClassifier.create(exportDir, metadata, { threads: opts.threads })
    } catch (err) {
      throw new Error(
        `cannot load the model in ${exportDir}: its base is an ONNX model and needs onnxruntime: ${(err as Error).message}`
      )
    }
    log('[transfer-studio] classifier runs on onnxruntime (base.onnx + head.onnx)')
    return frozen
  }
  const openWithFallback = async (): Promise<Classifier> => {
    const order = opts.prefer === 'tfjs' ? [tryTfjs, tryOnnx] : [tryOnnx, tryTfjs]
    const names =
      opts.prefer === 'tfjs'
        ? ['TF.js (model.json)', 'onnxruntime (model.onnx)']
        : ['onnxruntime (model.onnx)', 'TF.js (model.json)']
    try {
      const first = await order[0]()
      log(`[transfer-studio] classifier runs on ${names[0]}`)
      return first
    } catch (first) {
      let second: Classifier
      try {
        second = await order[1]()
      } catch (err) {
        throw new Error(
          `cannot load the model in ${exportDir}: ${names[0]}: ${(first as Error).message}; ${names[1]}: ${(err as Error).message}`
        )
      }
      log(
        `[transfer-studio] classifier runs on ${names[1]} (${names[0]} unavailable: ${(first as Error).message.split('\n')[0]})`
      )
      return second
    }
  }
  const classifier = metadata.frozenBase ? await openFrozen() : await openWithFallback()
  if (classifier.numClasses !== labels.length) {
    await classifier.dispose()
    throw new Error(
      `the model in ${exportDir} has ${classifier.numClasses} outputs but metadata.json lists ${labels.length} labels`
    )
  }
  return { classifier, metadata, labels }
}

/** The k most probable classes per row, most probable first. */
export function predictTopK(
  probabilities: Float32Array,
  k: number,
  classes: readonly ClassLabel[]
): Prediction['top'][] {
  const n = classes.length
  if (n === 0 || probabilities.length % n !== 0)
    throw new Error(`probabilities (${probabilities.length}) is not a multiple of ${n} classes`)
  const byIndex = new Array<ClassLabel>(n)
  for (const c of classes) byIndex[c.index] = c
  if (byIndex.some((c) => !c) || byIndex.length !== n)
    throw new Error('classes must cover output indices 0..n-1 once each')
  const kk = Math.max(1, Math.min(k, n))
  const rows = probabilities.length / n
  const out: Prediction['top'][] = []
  for (let r = 0; r < rows; r++) {
    const idx = Array.from({ length: n }, (_, j) => j)
    // Stable: equal probabilities keep output-index order.
    idx.sort((a, b) => probabilities[r * n + b] - probabilities[r * n + a] || a - b)
    out.push(
      idx.slice(0, kk).map((j) => ({
        classId: byIndex[j].classId,
        key: byIndex[j].key,
        name: byIndex[j].name,
        probability: probabilities[r * n + j]
      }))
    )
  }
  return out
}

/** The region zoomed in to `zoom` of its side about its centre (test-time augmentation's second view). */
export function zoomRoi(roi: Roi, zoom: number): Roi {
  const cx = (roi.x1 + roi.x2) / 2
  const cy = (roi.y1 + roi.y2) / 2
  const hw = ((roi.x2 - roi.x1) * zoom) / 2
  const hh = ((roi.y2 - roi.y1) * zoom) / 2
  return { x1: cx - hw, y1: cy - hh, x2: cx + hw, y2: cy + hh }
}

export interface ClassifyResult {
  /** Examples that were read, in input order; rows of `probabilities` follow them. */
  examples: Example[]
  labels: Int32Array
  probabilities: Float32Array
  failed: { path: string; reason: string }[]
}

/** Runs every example through `classifier` (no shuffle, no augmentation), batch by batch. */
export async function classifyExamples(
  classifier: Classifier,
  examples: Example[],
  opts: {
    batchSize?: number
    signal?: AbortSignal
    onProgress?: (done: number, total: number) => void
    decode?: CreateBatchSourceOptions['decode']
  } = {}
): Promise<ClassifyResult> {
  const n = classifier.numClasses
  const prep = classifier.preprocessing
  const zoom = prep.cropToRoi ? prep.testTimeZoom : undefined
  const batchSize = opts.batchSize ?? 32
  const source = createBatchSource({
    examples,
    preprocessing: prep,
    batchSize,
    shuffle: false,
    seed: 0,
    decode: opts.decode
  })
  // The second view of test-time augmentation: the same examples, their regions zoomed in. Batches of both
  // sources line up (same order and size); a file that fails fails in both.
  const zoomedSource = zoom
    ? createBatchSource({
        examples: examples.map((e) => (e.roi ? { ...e, roi: zoomRoi(e.roi, zoom) } : e)),
        preprocessing: prep,
        batchSize,
        shuffle: false,
        seed: 0,
        decode: opts.decode
      })
    : null
  const zoomed = zoomedSource ? zoomedSource.epoch(0, { signal: opts.signal })[Symbol.asyncIterator]() : null
  const probabilities = new Float32Array(examples.length * n)
  const labels: number[] = []
  const ok: Example[] = []
  const failed: ClassifyResult['failed'] = []
  let done = 0
  try {
    for await (const batch of source.epoch(0, { signal: opts.signal })) {
      failed.push(...batch.failed)
      const second = zoomed ? (await zoomed.next()).value : null
      if (batch.size > 0) {
        const p = await classifier.predict(batch.x, batch.size)
        if (second && second.size === batch.size) {
          const q = await classifier.predict(second.x, second.size)
          for (let i = 0; i < p.length; i++) p[i] = (p[i] + q[i]) / 2
        }
        probabilities.set(p, ok.length * n)
        ok.push(...batch.examples)
        labels.push(...batch.y)
      }
      done += batch.size + batch.failed.length
      opts.onProgress?.(done, examples.length)
    }
  } finally {
    await zoomed?.return?.(undefined)
  }
  return {
    examples: ok,
    labels: Int32Array.from(labels),
    probabilities: probabilities.slice(0, ok.length * n),
    failed
  }
}

/** Top-k predictions for image files (prediction has no labels, so examples get label -1). */
export async function predictFiles(
  loaded: Pick<LoadedClassifier, 'classifier' | 'labels'>,
  paths: string[],
  opts: {
    k?: number
    batchSize?: number
    signal?: AbortSignal
    onProgress?: (done: number, total: number) => void
  } = {}
): Promise<{ predictions: Prediction[]; failed: { path: string; reason: string }[] }> {
  const examples: Example[] = paths.map((path) => ({ imageId: null, path, hash: '', label: -1, roi: null }))
  const r = await classifyExamples(loaded.classifier, examples, opts)
  const tops = predictTopK(r.probabilities, opts.k ?? 5, loaded.labels)
  return { predictions: r.examples.map((e, i) => ({ path: e.path, top: tops[i] })), failed: r.failed }
}

/** What a prediction file is: a path on this machine, or bytes from a browser drop. */
export type PredictFile = { path: string } | { name: string; dataBase64: string }

/**
 * Top-`top` per file, in the order given; a file that cannot be read gets an entry with `error` (dropped
 * bytes are named by their file name, and the temporary folder they were decoded from is not shown).
 */
export async function predictFileList(
  loaded: Pick<LoadedClassifier, 'classifier' | 'labels'>,
  files: PredictFile[],
  top: number
): Promise<Prediction[]> {
  const tmp = await mkdtemp(join(tmpdir(), 'ts-predict-'))
  try {
    // Dropped bytes go to a temporary file each, so paths and bytes share one decode path.
    const paths = await Promise.all(
      files.map(async (f, i) => {
        if ('path' in f) return resolve(f.path)
        const p = join(tmp, `${i}-${basename(f.name).replace(/[^\w.-]/g, '_') || 'image'}`)
        await writeFile(p, Buffer.from(f.dataBase64, 'base64'))
        return p
      })
    )
    const out = await predictFiles(loaded, paths, { k: Math.min(top, loaded.labels.length) })
    const byPath = new Map(out.predictions.map((p) => [p.path, p]))
    const failed = new Map(out.failed.map((f) => [f.path, f.reason]))
    return files.map((f, i) => {
      const shown = 'path' in f ? f.path : f.name
      const p = byPath.get(paths[i])
      if (p) return { path: shown, top: p.top }
      const reason = failed.get(paths[i]) ?? 'the image could not be read'
      return { path: shown, top: [], error: reason.replaceAll(tmp + '/', '') }
    })
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
}

/** Runs labelled examples through a loaded classifier and computes the metrics (CLI `evaluate`, test split). */
export async function evaluateExamples(
  loaded: Pick<LoadedClassifier, 'classifier' | 'labels'>,
  examples: Example[],
  opts: { batchSize?: number; signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}
): Promise<EvaluationResult> {
  const r = await classifyExamples(loaded.classifier, examples, opts)
  return evaluatePredictions({
    probabilities: r.probabilities,
    numClasses: loaded.classifier.numClasses,
    labels: r.labels,
    examples: r.examples,
    classes: loaded.labels,
    failed: r.failed
  })
}
