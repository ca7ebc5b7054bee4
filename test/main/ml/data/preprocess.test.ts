import { describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import type { Preprocessing } from '../../../../src/shared/training'
import { cropRgb } from '../../../../src/main/image/decode'
import {
  cropImage,
  defaultPreprocessing,
  preprocess,
  preprocessingKey,
  preprocessInto,
  roiWindow,
  type Img
} from '../../../../src/main/ml/data/preprocess'
import { mulberry32 } from '../../../../src/shared/random'

function randomImage(w: number, h: number, seed: number): Img {
  const rng = mulberry32(seed)
  const data = new Uint8Array(w * h * 3)
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(rng() * 256)
  return { width: w, height: h, data }
}

const plain = (size: number): Preprocessing => ({
  inputSize: size,
  channelOrder: 'RGB',
  meanSubtraction: 'none',
  scale: 1,
  resize: 'bilinear',
  cropToRoi: false
})

/** TF.js reference: resizeBilinear(alignCorners=false, halfPixelCenters=true). */
async function tfResize(img: Img, size: number): Promise<Float32Array> {
  await tf.setBackend('cpu')
  const t = tf.tensor4d(Float32Array.from(img.data), [1, img.height, img.width, 3])
  const r = tf.image.resizeBilinear(t, [size, size], false, true)
  const out = (await r.data()) as Float32Array
  t.dispose()
  r.dispose()
  return out
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length)
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]))
  return m
}

describe('preprocessInto: bilinear resize', () => {
  it.each([
    [32, 32, 227],
    [32, 32, 32],
    [45, 37, 227],
    [64, 50, 32],
    [3, 5, 7],
    [1, 1, 4]
  ])('matches tf.image.resizeBilinear(halfPixelCenters) for %ix%i -> %i within 1e-4', async (w, h, s) => {
    const img = randomImage(w, h, w * 1000 + h * 10 + s)
    const ours = preprocess(img, plain(s))
    const ref = await tfResize(img, s)
    expect(maxAbsDiff(ours, ref)).toBeLessThan(1e-4)
  })

  it('differs from the legacy (halfPixelCenters=false) mapping, so the semantics test is not vacuous', async () => {
    const img = randomImage(32, 32, 7)
    const t = tf.tensor4d(Float32Array.from(img.data), [1, 32, 32, 3])
    const legacy = (await tf.image.resizeBilinear(t, [227, 227], false, false).data()) as Float32Array
    t.dispose()
    expect(maxAbsDiff(preprocess(img, plain(227)), legacy)).toBeGreaterThan(1)
  })

  it('writes at the offset and nowhere else', () => {
    const img = randomImage(8, 8, 3)
    const n = 4 * 4 * 3
    const out = new Float32Array(3 * n).fill(-999)
    preprocessInto(out, n, img, plain(4))
    expect(out.subarray(0, n).every((v) => v === -999)).toBe(true)
    expect(out.subarray(2 * n).every((v) => v === -999)).toBe(true)
    expect(out.subarray(n, 2 * n).some((v) => v === -999)).toBe(false)
    expect(() => preprocessInto(out, 2 * n + 1, img, plain(4))).toThrow(/need/)
  })
})

describe('preprocessInto: channel order, mean, scale (hand-computed)', () => {
  // 2x2 image resized to 2x2: every output is exactly one source pixel, so values can be written by hand.
  const img: Img = {
    width: 2,
    height: 2,
    data: Uint8Array.from([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120])
  }

  it('RGB, no mean, scale 1 is the identity at the same size', () => {
    expect(Array.from(preprocess(img, plain(2)))).toEqual(Array.from(img.data))
  })

  it('BGR swaps the first and last channel', () => {
    const out = preprocess(img, { ...plain(2), channelOrder: 'BGR' })
    expect(Array.from(out)).toEqual([30, 20, 10, 60, 50, 40, 90, 80, 70, 120, 110, 100])
  })

  it('per-image mean subtracts one scalar (the mean of all pixels and channels), then scales', () => {
    // mean of 10..120 step 10 = 65
    const out = preprocess(img, {
      ...plain(2),
      channelOrder: 'BGR',
      meanSubtraction: 'per-image',
      scale: 0.5
    })
    expect(Array.from(out)).toEqual(
      [30, 20, 10, 60, 50, 40, 90, 80, 70, 120, 110, 100].map((v) => (v - 65) * 0.5)
    )
  })

  it('per-image mean after upscaling equals mean-subtracting the source first (tutorial order)', async () => {
    const src = randomImage(32, 32, 11)
    const prep = defaultPreprocessing('alexnet')
    const ours = preprocess(src, prep)
    let sum = 0
    for (const v of src.data) sum += v
    const mean = sum / src.data.length
    const ref = await tfResize(src, 227)
    // BGR + subtract the scalar mean.
    for (let i = 0; i < ref.length; i += 3) {
      const r = ref[i]
      ref[i] = ref[i + 2] - mean
      ref[i + 1] -= mean
      ref[i + 2] = r - mean
    }
    expect(maxAbsDiff(ours, ref)).toBeLessThan(1e-3)
  })

  it('per-image-std gives each channel zero mean and unit spread, whatever the lighting and contrast', () => {
    const src = randomImage(32, 32, 5)
    const prep: Preprocessing = { ...plain(32), meanSubtraction: 'per-image-std' }
    const out = preprocess(src, prep)
    for (let c = 0; c < 3; c++) {
      const v = Array.from(out).filter((_, i) => i % 3 === c)
      const mean = v.reduce((a, b) => a + b, 0) / v.length
      const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length)
      expect(Math.abs(mean)).toBeLessThan(1e-4)
      expect(sd).toBeCloseTo(1, 4)
    }
    // A darker, flatter copy of the image (v / 2 + 20) comes out the same, up to 8-bit rounding.
    const dim = { ...src, data: src.data.map((v) => Math.round(v / 2 + 20)) }
    expect(maxAbsDiff(preprocess(dim, prep), out)).toBeLessThan(0.03)
    // Plain mean subtraction keeps the contrast difference.
    const meanOnly = { ...prep, meanSubtraction: 'per-image' as const }
    expect(maxAbsDiff(preprocess(dim, meanOnly), preprocess(src, meanOnly))).toBeGreaterThan(30)
  })

  it('per-image-std does not blow a flat image up into noise, and follows the channel order', () => {
    const flat: Img = {
      width: 2,
      height: 2,
      data: Uint8Array.from([10, 20, 30, 10, 20, 31, 10, 20, 30, 10, 20, 31])
    }
    const out = preprocess(flat, { ...plain(2), channelOrder: 'BGR', meanSubtraction: 'per-image-std' })
    // Spread floor of 4 grey levels: blue (first in BGR) varies by +-0.5 around 30.5 -> +-0.125.
    expect(Array.from(out.subarray(0, 3))).toEqual([-0.125, 0, 0])
    expect(Array.from(out.subarray(3, 6))).toEqual([0.125, 0, 0])
  })

  it('dataset mean is per channel in the model channel order', () => {
    const prep: Preprocessing = {
      ...plain(2),
      channelOrder: 'BGR',
      meanSubtraction: 'dataset',
      mean: [1, 2, 3],
      scale: 2
    }
    const out = preprocess(img, prep)
    expect(Array.from(out.subarray(0, 3))).toEqual([(30 - 1) * 2, (20 - 2) * 2, (10 - 3) * 2])
  })
})

describe('ROI crop', () => {
  it('uses the same rounding as the library cropRgb and crops before resizing', () => {
    const img = randomImage(20, 16, 5)
    const roi = { x1: 2.4, y1: 3.6, x2: 15.2, y2: 12 }
    const lib = cropRgb(img, roi)
    const ours = cropImage(img, roi)
    expect(ours.width).toBe(lib.width)
    expect(ours.height).toBe(lib.height)
    expect(Array.from(ours.data)).toEqual(Array.from(lib.data))
    expect(roiWindow(20, 16, roi)).toEqual({ x: 2, y: 3, w: 14, h: 9 })
    const prep = { ...plain(8), cropToRoi: true }
    expect(Array.from(preprocess(img, prep, roi))).toEqual(Array.from(preprocess(lib, plain(8))))
    // Without cropToRoi the ROI is ignored.
    expect(Array.from(preprocess(img, plain(8), roi))).toEqual(Array.from(preprocess(img, plain(8))))
  })
})

describe('defaults and key', () => {
  it('AlexNet is 227 BGR per-image scale 1; compact is 32 RGB per-image-std scale 1', () => {
    expect(defaultPreprocessing('alexnet')).toMatchObject({
      inputSize: 227,
      channelOrder: 'BGR',
      meanSubtraction: 'per-image',
      scale: 1
    })
    expect(defaultPreprocessing('compact')).toMatchObject({
      inputSize: 32,
      channelOrder: 'RGB',
      meanSubtraction: 'per-image-std',
      scale: 1
    })
    expect(defaultPreprocessing('compact', { datasetMean: [1, 2, 3] })).toMatchObject({
      meanSubtraction: 'dataset',
      mean: [1, 2, 3],
      scale: 1 / 64
    })
  })

  it('key is stable under field order and changes with every field that alters the input', () => {
    const a = defaultPreprocessing('alexnet')
    const reordered = Object.fromEntries(Object.entries(a).reverse()) as unknown as Preprocessing
    expect(preprocessingKey(reordered)).toBe(preprocessingKey(a))
    const variants: Preprocessing[] = [
      { ...a, inputSize: 224 },
      { ...a, channelOrder: 'RGB' },
      { ...a, meanSubtraction: 'none' },
      { ...a, meanSubtraction: 'per-image-std' },
      { ...a, scale: 0.5 },
      { ...a, cropToRoi: true },
      { ...a, meanSubtraction: 'dataset', mean: [1, 2, 3] },
      { ...a, meanSubtraction: 'dataset', mean: [1, 2, 4] }
    ]
    const keys = new Set([preprocessingKey(a), ...variants.map(preprocessingKey)])
    expect(keys.size).toBe(variants.length + 1)
    expect(preprocessingKey(a)).toMatch(/^227bgr-[0-9a-f]{12}$/)
  })
})
