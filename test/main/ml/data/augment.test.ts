import { describe, expect, it } from 'vitest'
import type { Augmentation } from '../../../../src/shared/training'
import {
  augment,
  augmentInto,
  IDENTITY_PARAMS,
  sampleAugmentParams
} from '../../../../src/main/ml/data/augment'
import { mixSeed, mulberry32 } from '../../../../src/shared/random'
import type { Img } from '../../../../src/main/ml/data/preprocess'

const AUG: Augmentation = {
  enabled: true,
  shift: 0.1,
  rotationDeg: 10,
  scale: 0.1,
  brightness: 0.2,
  contrast: 0.2,
  horizontalFlip: false
}
const ZERO: Augmentation = { ...AUG, shift: 0, rotationDeg: 0, scale: 0, brightness: 0, contrast: 0 }

function randomImage(w: number, h: number, seed: number): Img {
  const rng = mulberry32(seed)
  const data = new Uint8Array(w * h * 3)
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(rng() * 256)
  return { width: w, height: h, data }
}

const mean = (d: Uint8Array): number => d.reduce((a, b) => a + b, 0) / d.length

describe('mulberry32 / mixSeed', () => {
  it('is deterministic by seed, in [0,1), and seeds differ', () => {
    const a = mulberry32(42)
    const b = mulberry32(42)
    const c = mulberry32(43)
    const xs = Array.from({ length: 1000 }, () => a())
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs)
    expect(Array.from({ length: 1000 }, () => c())).not.toEqual(xs)
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true)
    const m = xs.reduce((s, x) => s + x, 0) / xs.length
    expect(Math.abs(m - 0.5)).toBeLessThan(0.05)
    expect(mixSeed(1, 2, 3)).not.toBe(mixSeed(1, 3, 2))
    expect(mixSeed(1, 2, 3)).toBe(mixSeed(1, 2, 3))
  })
})

describe('augment', () => {
  it('is deterministic for the same seed and differs for another', () => {
    const img = randomImage(32, 32, 1)
    const a = augment(img, AUG, mulberry32(7))
    const b = augment(img, AUG, mulberry32(7))
    const c = augment(img, AUG, mulberry32(8))
    expect(Array.from(a.data)).toEqual(Array.from(b.data))
    expect(Array.from(a.data)).not.toEqual(Array.from(c.data))
    expect(Array.from(a.data)).not.toEqual(Array.from(img.data))
  })

  it('is the identity when all amplitudes are 0 or augmentation is disabled', () => {
    const img = randomImage(32, 30, 2)
    expect(Array.from(augment(img, ZERO, mulberry32(3)).data)).toEqual(Array.from(img.data))
    expect(Array.from(augment(img, { ...AUG, enabled: false }, mulberry32(3)).data)).toEqual(
      Array.from(img.data)
    )
  })

  it('draws within the amplitudes', () => {
    const rng = mulberry32(9)
    for (let i = 0; i < 500; i++) {
      const p = sampleAugmentParams(AUG, rng, 32, 32)
      expect(Math.abs(p.dx)).toBeLessThanOrEqual(3.2)
      expect(Math.abs(p.dy)).toBeLessThanOrEqual(3.2)
      expect(Math.abs(p.rotationDeg)).toBeLessThanOrEqual(10)
      expect(p.scale).toBeGreaterThanOrEqual(0.9)
      expect(p.scale).toBeLessThanOrEqual(1.1)
      expect(Math.abs(p.brightness)).toBeLessThanOrEqual(0.2)
      expect(p.flip).toBe(false)
    }
    const flips = Array.from(
      { length: 400 },
      () => sampleAugmentParams({ ...AUG, horizontalFlip: true }, rng, 32, 32).flip
    )
    const n = flips.filter(Boolean).length
    expect(n).toBeGreaterThan(120)
    expect(n).toBeLessThan(280)
  })

  it('brightness multiplies the mean by (1 + b); contrast keeps the mean and scales deviations', () => {
    // Mid-range values so nothing clips.
    const img: Img = {
      width: 4,
      height: 4,
      data: Uint8Array.from({ length: 48 }, (_, i) => 80 + (i % 12) * 5)
    }
    const m0 = mean(img.data)
    const out = new Uint8Array(48)
    augmentInto(out, img, { ...IDENTITY_PARAMS, brightness: 0.2 })
    expect(Math.abs(mean(out) - m0 * 1.2)).toBeLessThan(0.5)
    augmentInto(out, img, { ...IDENTITY_PARAMS, brightness: -0.25 })
    expect(Math.abs(mean(out) - m0 * 0.75)).toBeLessThan(0.5)
    augmentInto(out, img, { ...IDENTITY_PARAMS, contrast: 0.5 })
    expect(Math.abs(mean(out) - m0)).toBeLessThan(0.5)
    const spread = (d: Uint8Array): number => Math.max(...d) - Math.min(...d)
    expect(Math.abs(spread(out) - spread(img.data) * 1.5)).toBeLessThanOrEqual(1)
  })

  it('a whole-pixel shift moves content and replicates the edge', () => {
    const img = randomImage(6, 5, 4)
    const out = new Uint8Array(img.data.length)
    augmentInto(out, img, { ...IDENTITY_PARAMS, dx: 2 })
    for (let y = 0; y < 5; y++) {
      for (let x = 0; x < 6; x++) {
        const sx = Math.max(0, x - 2)
        for (let c = 0; c < 3; c++) expect(out[(y * 6 + x) * 3 + c]).toBe(img.data[(y * 6 + sx) * 3 + c])
      }
    }
  })

  it('flip mirrors columns; 90 degree rotation turns the content counter-clockwise on screen', () => {
    const img = randomImage(4, 4, 5)
    const out = new Uint8Array(img.data.length)
    augmentInto(out, img, { ...IDENTITY_PARAMS, flip: true })
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 4; x++) {
        for (let c = 0; c < 3; c++) expect(out[(y * 4 + x) * 3 + c]).toBe(img.data[(y * 4 + 3 - x) * 3 + c])
      }
    }
    augmentInto(out, img, { ...IDENTITY_PARAMS, rotationDeg: 90 })
    // Counter-clockwise: the top-right source pixel ends up top-left.
    for (let c = 0; c < 3; c++) expect(out[c]).toBe(img.data[3 * 3 + c])
  })
})
