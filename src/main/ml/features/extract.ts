// Feature extraction (strategy 3): fc7 features of every image, computed once through the frozen base and
// kept in the on-disk FeatureCache keyed by (image hash, base weights, preprocessing), so a second run on
// the same library only trains the small head. The frozen forward pass runs in onnxruntime when it loads
// (several times faster than TF.js on a CPU), else in TF.js.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import * as tf from '@tensorflow/tfjs'
import type { Preprocessing } from '../../../shared/training'
import type { Batch, BatchSource, BatchSourceOptions, Example } from '../data/types'
import { epochOrder } from '../data/batches'
import { FeatureCache } from './cache'
import { preprocessingKey } from '../data/preprocess'
import { exportOnnx } from '../export/onnx'
import { OnnxRunner, onnxRuntimeAvailable } from '../evaluate/onnxRuntime'
import type { OnnxBaseRef } from './onnxExtractor'

export interface FeatureSet {
  dim: number
  /** Feature vector per image hash (only images that could be read). */
  byHash: Map<string, Float32Array>
  failed: { path: string; reason: string }[]
  /** Which engine computed the missing features ('cache' when none were missing). */
  engine: 'onnx' | 'tfjs' | 'cache'
  computed: number
  dispose(): void
}

export interface ComputeFeaturesOptions {
  /** Image -> features model (frozen), or null with `onnxBase`. */
  base: tf.LayersModel | null
  /** The frozen base as an ONNX file, run in onnxruntime (there is no TF.js copy of it). */
  onnxBase?: OnnxBaseRef
  /** Feature length; read from `base` when it is a TF.js model. */
  dim?: number
  baseKey: string
  preprocessing: Preprocessing
  examples: Example[]
  cacheDir: string
  batchSize: number
  signal?: AbortSignal
  makeSource: (opts: BatchSourceOptions) => BatchSource
  onProgress?: (done: number, total: number) => void
  /** Skip onnxruntime (tests of the fallback). */
  engine?: 'auto' | 'tfjs'
}

const SHA1 = /^[0-9a-f]{40}$/i

/** Cache key of an example: its SHA-1; examples from outside the library get it computed from the file. */
function keyOf(e: Example): string {
  if (SHA1.test(e.hash)) return e.hash.toLowerCase()
  try {
    e.hash = createHash('sha1').update(readFileSync(e.path)).digest('hex')
    return e.hash
  } catch {
    // Unreadable: a key that never hits the cache; the batch source reports why it cannot be read.
    return `unreadable:${e.path}`
  }
}

/**
 * A frozen forward pass of `base` over one batch (features here, validation in the trainer): ONNX when
 * available, else TF.js. `dim` is the output length per example; `close` frees the ONNX session. Without
 * onnxruntime the TF.js pass is the plan and says nothing; when onnxruntime is there but the model cannot run
 * in it (an exporter gap or bug), the pass still falls back to TF.js, but says why on the console and in
 * `fallbackReason`, so a slow run is never a silent one.
 */
export async function makeForward(
  base: tf.LayersModel,
  dim: number,
  engine: 'auto' | 'tfjs'
): Promise<{
  run: (x: Float32Array, n: number, shape: number[]) => Promise<Float32Array>
  engine: 'onnx' | 'tfjs'
  close: () => Promise<void>
  fallbackReason?: string
}> {
  let fallbackReason: string | undefined
  if (engine === 'auto' && onnxRuntimeAvailable()) {
    try {
      const runner = await OnnxRunner.create(exportOnnx(base))
      if (runner.outputSize !== dim)
        throw new Error(`ONNX base outputs ${runner.outputSize} floats, expected ${dim}`)
      return { run: (x, n, shape) => runner.run(x, n, shape), engine: 'onnx', close: () => runner.dispose() }
    } catch (err) {
      // A layer the exporter cannot express, or a bug in it: the TF.js pass gives the same numbers, slower.
      fallbackReason = err instanceof Error ? err.message : String(err)
      console.warn(
        `[transfer-studio] frozen pass runs in TF.js: the ONNX export cannot run (${fallbackReason})`
      )
    }
  }
  return {
    run: async (x, n, shape) => {
      const out = tf.tidy(() => base.predict(tf.tensor(x, [n, ...shape])) as tf.Tensor)
      const values = (await out.data()) as Float32Array
      out.dispose()
      return values
    },
    engine: 'tfjs',
    close: async () => {},
    ...(fallbackReason ? { fallbackReason } : {})
  }
}

/** The frozen pass of an ONNX base: its features through onnxruntime, checked against the expected length. */
async function onnxForward(ref: OnnxBaseRef, dim: number): ReturnType<typeof makeForward> {
  const { createOnnxFeatureExtractor } = await import('./onnxExtractor')
  const extractor = await createOnnxFeatureExtractor(ref.path, { output: ref.output })
  if (extractor.featureDim !== dim || extractor.inputSize !== ref.inputSize) {
    await extractor.dispose()
    throw new Error(`${ref.path} changed since the run started: its features are no longer ${dim} values`)
  }
  return { run: (x, n) => extractor.extract(x, n), engine: 'onnx', close: () => extractor.dispose() }
}

export async function computeFeatures(opts: ComputeFeaturesOptions): Promise<FeatureSet> {
  const base = opts.base
  const dim = base ? (base.outputs[0].shape[base.outputs[0].shape.length - 1] as number) : opts.dim
  if (!dim || (!base && !opts.onnxBase))
    throw new Error('computeFeatures needs a TF.js base or an ONNX base and its dim')
  const cache = FeatureCache.open(opts.cacheDir, {
    baseKey: opts.baseKey,
    prepKey: preprocessingKey(opts.preprocessing),
    dim
  })
  const unique = new Map<string, Example>()
  for (const e of opts.examples) if (!unique.has(keyOf(e))) unique.set(keyOf(e), e)
  const keys = [...unique.keys()]
  const missing = new Set(cache.missing(keys.filter((k) => SHA1.test(k))))
  for (const k of keys) if (!SHA1.test(k)) missing.add(k)
  const todo = keys.filter((k) => missing.has(k)).map((k) => unique.get(k)!)
  const failed: { path: string; reason: string }[] = []
  let engine: FeatureSet['engine'] = 'cache'
  const side = opts.preprocessing.inputSize
  if (todo.length) {
    const forward = base
      ? await makeForward(base, dim, opts.engine ?? 'auto')
      : await onnxForward(opts.onnxBase!, dim)
    engine = forward.engine
    try {
      const source = opts.makeSource({
        examples: todo,
        preprocessing: opts.preprocessing,
        batchSize: opts.batchSize,
        shuffle: false,
        seed: 0
      })
      let done = 0
      opts.onProgress?.(0, todo.length)
      for await (const b of source.epoch(0, { signal: opts.signal })) {
        failed.push(...b.failed)
        if (b.size > 0) {
          const values = await forward.run(b.x.subarray(0, b.size * side * side * 3), b.size, [side, side, 3])
          cache.putMany(
            b.examples.map((e) => keyOf(e)),
            values.length === b.size * dim ? values : values.slice(0, b.size * dim)
          )
        }
        done += b.size + b.failed.length
        opts.onProgress?.(done, todo.length)
      }
    } finally {
      await forward.close()
    }
  }
  const byHash = new Map<string, Float32Array>()
  try {
    for (const k of keys) {
      const v = SHA1.test(k) ? cache.get(k) : null
      if (v) byHash.set(k, v)
    }
  } finally {
    cache.close()
  }
  return { dim, byHash, failed, engine, computed: todo.length - failed.length, dispose: () => byHash.clear() }
}

/**
 * True when every feature value of `examples` (those with features) is exactly 0: a base whose ReLUs are
 * all dead for this data (wrong preprocessing, weights for another input scale). A head trained on such
 * features can only learn the class priors, so the trainer refuses instead of training it silently.
 */
export function featuresAllZero(features: FeatureSet, examples: Example[]): boolean {
  let seen = 0
  for (const e of examples) {
    const v = features.byHash.get(keyOf(e))
    if (!v) continue
    seen++
    for (let i = 0; i < v.length; i++) if (v[i] !== 0) return false
  }
  return seen > 0
}

/** A BatchSource over cached features of `examples` (those without features are left out). */
export function featureBatchSource(
  features: FeatureSet,
  examples: Example[],
  opts: { batchSize: number; shuffle: boolean; classBalanced?: boolean; numClasses: number; seed: number }
): BatchSource {
  const usable = examples.filter((e) => features.byHash.has(keyOf(e)))
  const dim = features.dim
  const batchesPerEpoch = Math.ceil(usable.length / opts.batchSize)
  return {
    numExamples: usable.length,
    batchSize: opts.batchSize,
    batchesPerEpoch,
    async *epoch(epochIndex: number, o?: { signal?: AbortSignal }): AsyncIterable<Batch> {
      const order = epochOrder(
        usable,
        { shuffle: opts.shuffle, classBalanced: opts.classBalanced, seed: opts.seed },
        epochIndex
      )
      for (let start = 0; start < order.length; start += opts.batchSize) {
        if (o?.signal?.aborted) throw o.signal.reason ?? new Error('aborted')
        const idx = order.subarray(start, Math.min(order.length, start + opts.batchSize))
        const x = new Float32Array(idx.length * dim)
        const y = new Int32Array(idx.length)
        const batchExamples: Example[] = []
        idx.forEach((k, i) => {
          const e = usable[k]
          x.set(features.byHash.get(keyOf(e))!, i * dim)
          y[i] = e.label
          batchExamples.push(e)
        })
        yield { x, y, size: idx.length, examples: batchExamples, failed: [] }
      }
    }
  }
}
