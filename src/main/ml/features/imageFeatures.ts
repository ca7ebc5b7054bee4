// The vectors feature extraction trains on, for image files: `transfer-studio features` and anything else
// that wants a backbone's embedding of an image. A BVLC or studio AlexNet gives fc7 after its ReLU; a
// torchvision `.pth` gives the input of its last Linear in eval mode; an ONNX model gives the output that
// onnxExtractor.ts finds (or the one named). The frozen pass runs in onnxruntime when it loads (the
// backbone's own ONNX export), else in TF.js (makeForward); ONNX models always run in onnxruntime.
import type { BaseModel, TrainConfig } from '../../../shared/training'
import { decodeImage } from '../../image/decode'
import { defaultTrainConfig, type BaseInfo } from '../train/config'
import { inputLength, preprocessInto } from '../data/preprocess'
import { buildModel } from '../models/strategies'
import { makeForward } from './extract'

export interface ImageFeatures {
  dims: number
  /** One vector per image that could be read, in the order given (see `paths`). */
  features: number[][]
  /** The images the vectors belong to. */
  paths: string[]
  failed: { path: string; reason: string }[]
  engine: 'onnx' | 'tfjs'
}

export interface ImageFeaturesOptions {
  /** A resolved base: a file (not a hub id or run; the caller resolves those). */
  base: Exclude<BaseModel, { kind: 'none' } | { kind: 'hub' } | { kind: 'run' }>
  /** The hub entry's format/architecture/input size, when the base came from the hub. */
  info?: BaseInfo
  images: string[]
  batchSize?: number
  signal?: AbortSignal
}

export async function imageFeatures(opts: ImageFeaturesOptions): Promise<ImageFeatures> {
  const batchSize = opts.batchSize ?? 16
  if (opts.base.kind === 'onnx') {
    const { createOnnxFeatureExtractor } = await import('./onnxExtractor')
    const extractor = await createOnnxFeatureExtractor(opts.base.path, { output: opts.base.output })
    const config = defaultTrainConfig('feature-extraction', opts.base, {
      format: 'onnx',
      inputSize: extractor.inputSize
    })
    try {
      return await run(opts, config, extractor.featureDim, batchSize, 'onnx', (x, n) =>
        extractor.extract(x, n)
      )
    } finally {
      await extractor.dispose()
    }
  }
  const config = defaultTrainConfig('feature-extraction', opts.base, opts.info)
  // Two classes: the head is not used, only the frozen backbone up to its features.
  const built = await buildModel(config, 2)
  try {
    const base = built.base
    if (!base) throw new Error('this base gives no feature model')
    const size = built.preprocessing.inputSize
    const forward = await makeForward(base, built.featureDim, 'auto')
    try {
      return await run(
        { ...opts },
        { ...config, preprocessing: built.preprocessing },
        built.featureDim,
        batchSize,
        forward.engine,
        (x, n) => forward.run(x, n, [size, size, 3])
      )
    } finally {
      await forward.close()
    }
  } finally {
    built.dispose()
  }
}

async function run(
  opts: ImageFeaturesOptions,
  config: TrainConfig,
  dims: number,
  batchSize: number,
  engine: 'onnx' | 'tfjs',
  forward: (x: Float32Array, n: number) => Promise<Float32Array>
): Promise<ImageFeatures> {
  const prep = config.preprocessing
  const per = inputLength(prep)
  const out: ImageFeatures = { dims, features: [], paths: [], failed: [], engine }
  for (let start = 0; start < opts.images.length; start += batchSize) {
    if (opts.signal?.aborted) throw new Error('cancelled')
    const chunk = opts.images.slice(start, start + batchSize)
    const x = new Float32Array(chunk.length * per)
    const ok: string[] = []
    for (const path of chunk) {
      try {
        const img = await decodeImage(path)
        preprocessInto(x, ok.length * per, img, prep)
        ok.push(path)
      } catch (err) {
        out.failed.push({ path, reason: (err as Error).message })
      }
    }
    if (ok.length === 0) continue
    const values = await forward(x.subarray(0, ok.length * per), ok.length)
    for (let i = 0; i < ok.length; i++) {
      out.features.push(Array.from(values.subarray(i * dims, (i + 1) * dims)))
      out.paths.push(ok[i])
    }
  }
  return out
}
