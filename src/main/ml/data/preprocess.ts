// Pixels -> model input. The ONE implementation of the `Preprocessing` record, used by training, feature
// extraction, evaluation, prediction and (through the recorded record) by exported models.
//
// Order: crop to the ROI (when asked and known) -> bilinear resize to `inputSize` -> channel order ->
// mean subtraction -> scale. Output is NHWC float32 written straight into a caller's batch buffer.
//
// Resize semantics are TF2's `tf.image.resize(..., 'bilinear')`, i.e. TF.js
// `tf.image.resizeBilinear(img, [s, s], alignCorners = false, halfPixelCenters = true)`: source coordinate
// `(dst + 0.5) * src / dst - 0.5`, clamped to the image (edge replicate). This is also what OpenCV's
// INTER_LINEAR and PIL do when upscaling, so a model exported here behaves the same when someone feeds it
// from Python. (The tutorial's TF1 `resize_images` used the legacy corner-aligned-at-0 mapping; the
// difference for 32 -> 227 is a sub-pixel shift and does not matter to AlexNet's features.)
import { createHash } from 'node:crypto'
import type { Preprocessing } from '../../../shared/training'
import { PreprocessingSchema } from '../../../shared/contract/training'
import { describeIssues } from '../../../shared/contract/issues'
import type { Example } from './types'

/** Interleaved 8-bit RGB, row-major (what `decodeImage` returns). */
export interface Img {
  width: number
  height: number
  data: Uint8Array
}

export type Roi = NonNullable<Example['roi']>

export interface DefaultPreprocessingOptions {
  /** Crop to the ROI recorded at import (default false; the training service turns it on for a project imported with --crop-roi). */
  cropToRoi?: boolean
  /** Compact only: use dataset mean subtraction with this per-channel RGB mean (0..255) instead of per-image. */
  datasetMean?: [number, number, number]
  /** Override the input side (e.g. a reduced AlexNet for CPU tests). */
  inputSize?: number
}

/**
 * torchvision's ImageNet preset (RGB / 255, then (x - mean) / std per channel) on the 0..255 scale the
 * preprocessing works in: mean 255 * [0.485, 0.456, 0.406], std 255 * [0.229, 0.224, 0.225]. Images of any
 * size are resized (up, for 32 px signs) to the input side; one already at that side goes in unchanged.
 */
export const IMAGENET_NORMALISATION: Omit<Preprocessing, 'inputSize' | 'cropToRoi'> = {
  channelOrder: 'RGB',
  meanSubtraction: 'dataset',
  mean: [123.675, 116.28, 103.53],
  std: [58.395, 57.12, 57.375],
  scale: 1,
  resize: 'bilinear'
}

/**
 * The preprocessing each architecture is trained and run with.
 * - `torchvision` and `onnx` (a hub or .pth backbone, an ONNX model): IMAGENET_NORMALISATION at 224 px.
 *
 * - `alexnet` (strategies 1-3, BVLC weights): 227 px, BGR, per-image mean, scale 1. This is the Udacity
 *   AlexNet lab: `im = im - np.mean(im)` (one scalar over all pixels and channels) and an RGB->BGR swap,
 *   no rescaling, because the Caffe weights were trained on 0..255 inputs minus a mean.
 * - `compact` (strategy 4, trained from scratch on 32 px signs): 32 px, RGB, per-image standardisation
 *   (each channel of each image to zero mean and unit spread, scale 1). It removes GTSRB's large brightness
 *   and contrast variation without a pass over the data set, and gives the unit-scale inputs that
 *   freshly initialised layers expect. With `datasetMean`, the dataset mean is subtracted instead (scale
 *   1/64, which brings centred 0..255 values to roughly [-2, 2]) for users who computed one.
 */
export function defaultPreprocessing(
  architecture: 'alexnet' | 'compact' | 'torchvision' | 'onnx',
  opts: DefaultPreprocessingOptions = {}
): Preprocessing {
  const cropToRoi = opts.cropToRoi ?? false
  if (architecture === 'torchvision' || architecture === 'onnx') {
    return { ...IMAGENET_NORMALISATION, inputSize: opts.inputSize ?? 224, cropToRoi }
  }
  if (architecture === 'alexnet') {
    return {
      inputSize: opts.inputSize ?? 227,
      channelOrder: 'BGR',
      meanSubtraction: 'per-image',
      scale: 1,
      resize: 'bilinear',
      cropToRoi
    }
  }
  const normalisation: Pick<Preprocessing, 'meanSubtraction' | 'mean' | 'scale'> = opts.datasetMean
    ? { meanSubtraction: 'dataset', mean: opts.datasetMean, scale: 1 / 64 }
    : { meanSubtraction: 'per-image-std', scale: 1 }
  return {
    inputSize: opts.inputSize ?? 32,
    channelOrder: 'RGB',
    ...normalisation,
    resize: 'bilinear',
    cropToRoi
  }
}

/**
 * Throws a clear message for a record that cannot be applied (one read from a model's metadata.json, or
 * handed to the engine directly): the contract's Preprocessing schema, e.g. `preprocessing.inputSize: must
 * be <= 4096`.
 */
export function validatePreprocessing(prep: Preprocessing): void {
  const result = PreprocessingSchema.safeParse(prep)
  if (!result.success) {
    const problems = describeIssues(result.error.issues, prep).map((p) => `preprocessing.${p}`)
    throw new Error(problems.join('; '))
  }
}

/**
 * Stable key for caches (feature cache folders): equal records give equal keys whatever their field order,
 * and any change that alters the model input changes it. Readable prefix + 12 hex digits of SHA-1.
 */
export function preprocessingKey(prep: Preprocessing): string {
  const canonical = [
    'v1',
    prep.inputSize,
    prep.channelOrder,
    prep.meanSubtraction,
    prep.meanSubtraction === 'dataset' ? (prep.mean ?? []).map((m) => m.toPrecision(9)).join(',') : '',
    prep.scale.toPrecision(9),
    // Only when present, so the keys of every record made before `std` existed stay as they were.
    ...(prep.meanSubtraction === 'dataset' && prep.std
      ? [`std:${prep.std.map((v) => v.toPrecision(9)).join(',')}`]
      : []),
    prep.resize,
    prep.cropToRoi ? 'roi' : 'full'
  ].join('|')
  const hash = createHash('sha1').update(canonical).digest('hex').slice(0, 12)
  return `${prep.inputSize}${prep.channelOrder.toLowerCase()}-${hash}`
}

/** Floats per preprocessed image. */
export function inputLength(prep: Preprocessing): number {
  return prep.inputSize * prep.inputSize * 3
}

/** Integer crop window of a ROI, rounded outwards and clamped (same rule as the library's `cropRgb`). */
export function roiWindow(
  width: number,
  height: number,
  roi: Roi
): { x: number; y: number; w: number; h: number } {
  const x1 = Math.max(0, Math.min(width - 1, Math.floor(roi.x1)))
  const y1 = Math.max(0, Math.min(height - 1, Math.floor(roi.y1)))
  const x2 = Math.max(x1 + 1, Math.min(width, Math.ceil(roi.x2)))
  const y2 = Math.max(y1 + 1, Math.min(height, Math.ceil(roi.y2)))
  return { x: x1, y: y1, w: x2 - x1, h: y2 - y1 }
}

/** Copy of the ROI's pixels (used before augmentation so it works on the sign, not the background). */
export function cropImage(img: Img, roi: Roi): Img {
  const { x, y, w, h } = roiWindow(img.width, img.height, roi)
  if (x === 0 && y === 0 && w === img.width && h === img.height) return img
  const out = new Uint8Array(w * h * 3)
  for (let r = 0; r < h; r++) {
    const src = ((y + r) * img.width + x) * 3
    out.set(img.data.subarray(src, src + w * 3), r * w * 3)
  }
  return { width: w, height: h, data: out }
}

/** Per output coordinate: the two source indices and the weight of the second. */
interface AxisTable {
  i0: Int32Array
  i1: Int32Array
  w1: Float32Array
}

const axisTables = new Map<string, AxisTable>()

/** Half-pixel-centre bilinear taps along one axis; cached because sizes repeat (32 -> 227 for every image). */
function axisTable(src: number, dst: number): AxisTable {
  const key = `${src}>${dst}`
  let t = axisTables.get(key)
  if (t) return t
  t = { i0: new Int32Array(dst), i1: new Int32Array(dst), w1: new Float32Array(dst) }
  const ratio = src / dst
  for (let d = 0; d < dst; d++) {
    // Clamping the coordinate into [0, src-1] gives exactly TF's result at the borders (both taps equal).
    const s = Math.min(src - 1, Math.max(0, (d + 0.5) * ratio - 0.5))
    const f = Math.floor(s)
    t.i0[d] = f
    t.i1[d] = Math.min(src - 1, f + 1)
    t.w1[d] = s - f
  }
  // Bounded: a handful of (size, side) pairs per data set; drop everything if a folder of odd sizes floods it.
  if (axisTables.size > 512) axisTables.clear()
  axisTables.set(key, t)
  return t
}

// Scratch for the horizontal pass; grows to the largest (srcH x dst x 3) seen. Single-threaded use only.
let rowScratch = new Float32Array(0)

/**
 * Writes the preprocessed image at `out[offset .. offset + inputSize^2 * 3)` (NHWC, one image).
 * `roi` is used only when `prep.cropToRoi` is set. Returns the number of floats written.
 */
export function preprocessInto(
  out: Float32Array,
  offset: number,
  img: Img,
  prep: Preprocessing,
  roi?: Roi | null
): number {
  const S = prep.inputSize
  const n = S * S * 3
  if (offset < 0 || offset + n > out.length) {
    throw new Error(`preprocessInto: output has ${out.length} floats, need ${offset + n}`)
  }
  if (img.data.length < img.width * img.height * 3 || img.width < 1 || img.height < 1) {
    throw new Error(
      `preprocessInto: image data has ${img.data.length} bytes for ${img.width}x${img.height} RGB`
    )
  }
  let x0 = 0
  let y0 = 0
  let W = img.width
  let H = img.height
  if (prep.cropToRoi && roi) {
    const win = roiWindow(img.width, img.height, roi)
    x0 = win.x
    y0 = win.y
    W = win.w
    H = win.h
  }
  const src = img.data
  const stride = img.width * 3
  const tx = axisTable(W, S)
  const ty = axisTable(H, S)

  // Channel mapping and the affine part of normalisation: out = (v - mean[c]) * scale[c].
  const bgr = prep.channelOrder === 'BGR'
  let m0 = 0
  let m1 = 0
  let m2 = 0
  let s0 = prep.scale
  let s1 = prep.scale
  let s2 = prep.scale
  if (prep.meanSubtraction === 'per-image-std') {
    // Per channel: mean and standard deviation of the (cropped) source, so every image reaches the model
    // with zero mean and unit variance per channel whatever its lighting and contrast. Stats of the source
    // rather than the resized image keep this cheap; both are exact for the mean, close for the spread.
    const sum = [0, 0, 0]
    const sq = [0, 0, 0]
    for (let r = 0; r < H; r++) {
      const base = (y0 + r) * stride + x0 * 3
      for (let i = base, end = base + W * 3; i < end; i += 3) {
        for (let c = 0; c < 3; c++) {
          const v = src[i + c]
          sum[c] += v
          sq[c] += v * v
        }
      }
    }
    const n = W * H
    const stats = [0, 1, 2].map((c) => {
      const mean = sum[c] / n
      // Floor of 4 grey levels: a flat image is not blown up into noise.
      const sd = Math.max(4, Math.sqrt(Math.max(0, sq[c] / n - mean * mean)))
      return [mean, prep.scale / sd]
    })
    const [r, g, b] = bgr ? [stats[2], stats[1], stats[0]] : stats
    ;[m0, s0] = r
    ;[m1, s1] = g
    ;[m2, s2] = b
  } else if (prep.meanSubtraction === 'per-image') {
    // Mean of the (cropped) source: bilinear weights sum to 1, so resize(x - m) = resize(x) - m and this is
    // exactly the tutorial's "subtract np.mean(im), then resize", at 32x32 cost instead of 227x227.
    let sum = 0
    for (let r = 0; r < H; r++) {
      const base = (y0 + r) * stride + x0 * 3
      for (let i = base, end = base + W * 3; i < end; i++) sum += src[i]
    }
    m0 = m1 = m2 = sum / (W * H * 3)
  } else if (prep.meanSubtraction === 'dataset') {
    const mean = prep.mean
    if (!mean) throw new Error('preprocessing.meanSubtraction is "dataset" but preprocessing.mean is missing')
    // `mean` (and `std`) are in the model's channel order.
    m0 = mean[0]
    m1 = mean[1]
    m2 = mean[2]
    if (prep.std) {
      s0 = prep.scale / prep.std[0]
      s1 = prep.scale / prep.std[1]
      s2 = prep.scale / prep.std[2]
    }
  }

  // Pass 1: horizontal interpolation of every source row of the window -> H x S x 3 (model channel order).
  const rowLen = S * 3
  if (rowScratch.length < H * rowLen) rowScratch = new Float32Array(H * rowLen)
  const rows = rowScratch
  const { i0: xi0, i1: xi1, w1: xw1 } = tx
  for (let r = 0; r < H; r++) {
    const base = (y0 + r) * stride + x0 * 3
    const o = r * rowLen
    for (let d = 0; d < S; d++) {
      const a = base + xi0[d] * 3
      const b = base + xi1[d] * 3
      const w = xw1[d]
      const ra = src[a] + (src[b] - src[a]) * w
      const ga = src[a + 1] + (src[b + 1] - src[a + 1]) * w
      const ba = src[a + 2] + (src[b + 2] - src[a + 2]) * w
      const p = o + d * 3
      if (bgr) {
        rows[p] = ba
        rows[p + 1] = ga
        rows[p + 2] = ra
      } else {
        rows[p] = ra
        rows[p + 1] = ga
        rows[p + 2] = ba
      }
    }
  }
  // Pass 2: vertical interpolation + normalisation straight into the output.
  const { i0: yi0, i1: yi1, w1: yw1 } = ty
  for (let d = 0; d < S; d++) {
    const a = yi0[d] * rowLen
    const b = yi1[d] * rowLen
    const w = yw1[d]
    let o = offset + d * rowLen
    for (let i = 0; i < rowLen; i += 3, o += 3) {
      const va = rows[a + i]
      const vb = rows[a + i + 1]
      const vc = rows[a + i + 2]
      out[o] = (va + (rows[b + i] - va) * w - m0) * s0
      out[o + 1] = (vb + (rows[b + i + 1] - vb) * w - m1) * s1
      out[o + 2] = (vc + (rows[b + i + 2] - vc) * w - m2) * s2
    }
  }
  return n
}

/** Convenience for single images (prediction, tests): a fresh buffer with one preprocessed image. */
export function preprocess(img: Img, prep: Preprocessing, roi?: Roi | null): Float32Array {
  const out = new Float32Array(inputLength(prep))
  preprocessInto(out, 0, img, prep, roi)
  return out
}
