// Training-time augmentation for signs, applied to the small source image before the resize (a 32x32
// sign costs ~1k pixel samples here instead of ~52k at 227 px).
//
// Parameters are drawn from a seeded PRNG (mulberry32) so an epoch is reproducible; the data pipeline
// seeds one generator per (seed, epoch, position) so results do not depend on decode order or concurrency.
import type { Augmentation } from '../../../shared/training'
import type { Img } from './preprocess'

/** One concrete draw of the augmentation; all zero/false = identity. */
export interface AugmentParams {
  /** Shift in pixels of the source image (positive = content moves right / down). */
  dx: number
  dy: number
  /** Rotation in degrees, counter-clockwise as seen on screen. */
  rotationDeg: number
  /** Zoom factor (1 = none; 1.1 = content 10 % larger). */
  scale: number
  /** Multiplicative brightness change: every value is multiplied by (1 + brightness). */
  brightness: number
  /** Contrast change: values move away from (or towards) the image mean by the factor (1 + contrast). */
  contrast: number
  flip: boolean
}

export const IDENTITY_PARAMS: AugmentParams = {
  dx: 0,
  dy: 0,
  rotationDeg: 0,
  scale: 1,
  brightness: 0,
  contrast: 0,
  flip: false
}

/**
 * Draws parameters for an image of the given size. Always consumes the same number of random values so a
 * change of one amplitude does not reshuffle the others.
 */
export function sampleAugmentParams(
  aug: Augmentation,
  rng: () => number,
  width: number,
  height: number
): AugmentParams {
  const u = [rng(), rng(), rng(), rng(), rng(), rng(), rng()]
  if (!aug.enabled) return { ...IDENTITY_PARAMS }
  const s = (i: number, a: number): number => (a === 0 ? 0 : (u[i] * 2 - 1) * a)
  return {
    dx: s(0, aug.shift) * width,
    dy: s(1, aug.shift) * height,
    rotationDeg: s(2, aug.rotationDeg),
    scale: 1 + s(3, aug.scale),
    brightness: s(4, aug.brightness),
    contrast: s(5, aug.contrast),
    flip: aug.horizontalFlip && u[6] < 0.5
  }
}

function isGeometricIdentity(p: AugmentParams): boolean {
  return p.dx === 0 && p.dy === 0 && p.rotationDeg === 0 && p.scale === 1 && !p.flip
}

/**
 * Writes the augmented image into `out` (same size as `img`). Geometry: output pixel centre p maps to the
 * source point `c + R(θ) · (p - c - t) / s` (y-down axes) (flip mirrors p first), sampled bilinearly with edge replicate
 * so no black borders appear. Photometric: v' = ((v·(1+b)) - m')·(1+c) + m' with m' the brightened mean,
 * then rounded and clamped to 0..255.
 */
export function augmentInto(out: Uint8Array, img: Img, p: AugmentParams): void {
  const { width: W, height: H, data: src } = img
  const n = W * H * 3
  if (out.length < n) throw new Error(`augmentInto: output has ${out.length} bytes, need ${n}`)
  if (out === src && !isGeometricIdentity(p)) throw new Error('augmentInto: output must not alias the input')

  if (isGeometricIdentity(p)) {
    if (out !== src) out.set(src.subarray(0, n))
  } else {
    const cx = W / 2
    const cy = H / 2
    const th = (p.rotationDeg * Math.PI) / 180
    // Sampling at R(θ)·(p - c) in y-down axes turns the content by θ counter-clockwise as seen on screen.
    const cos = Math.cos(th) / p.scale
    const sin = Math.sin(th) / p.scale
    const maxX = W - 1
    const maxY = H - 1
    const flip = p.flip
    const ox = 0.5 - cx - p.dx
    for (let y = 0; y < H; y++) {
      const py = y + 0.5 - cy - p.dy
      for (let x = 0; x < W; x++) {
        const px = (flip ? W - 1 - x : x) + ox
        // Source coordinates in pixel-index space (centre of pixel i is i).
        let sx = cos * px - sin * py + cx - 0.5
        let sy = sin * px + cos * py + cy - 0.5
        sx = sx < 0 ? 0 : sx > maxX ? maxX : sx
        sy = sy < 0 ? 0 : sy > maxY ? maxY : sy
        const x0 = Math.floor(sx)
        const y0 = Math.floor(sy)
        const x1 = x0 < maxX ? x0 + 1 : x0
        const y1 = y0 < maxY ? y0 + 1 : y0
        const fx = sx - x0
        const fy = sy - y0
        const a = (y0 * W + x0) * 3
        const b = (y0 * W + x1) * 3
        const c = (y1 * W + x0) * 3
        const d = (y1 * W + x1) * 3
        const o = (y * W + x) * 3
        const w00 = (1 - fx) * (1 - fy)
        const w01 = fx * (1 - fy)
        const w10 = (1 - fx) * fy
        const w11 = fx * fy
        // Channels unrolled; values stay within 0..255 (convex weights), so +0.5 and truncation round.
        out[o] = (src[a] * w00 + src[b] * w01 + src[c] * w10 + src[d] * w11 + 0.5) | 0
        out[o + 1] = (src[a + 1] * w00 + src[b + 1] * w01 + src[c + 1] * w10 + src[d + 1] * w11 + 0.5) | 0
        out[o + 2] = (src[a + 2] * w00 + src[b + 2] * w01 + src[c + 2] * w10 + src[d + 2] * w11 + 0.5) | 0
      }
    }
  }

  if (p.brightness !== 0 || p.contrast !== 0) {
    const gain = 1 + p.brightness
    const contrast = 1 + p.contrast
    let mean = 0
    if (p.contrast !== 0) {
      let sum = 0
      for (let i = 0; i < n; i++) sum += out[i]
      mean = (sum / n) * gain
    }
    // v' = (v·gain - mean)·contrast + mean = v·(gain·contrast) + mean·(1 - contrast)
    const mul = gain * contrast
    const add = mean * (1 - contrast)
    // Lookup table: 256 entries instead of a multiply, clamp and round per sample.
    const lut = new Uint8Array(256)
    for (let v = 0; v < 256; v++) {
      const r = v * mul + add
      lut[v] = r < 0 ? 0 : r > 255 ? 255 : Math.round(r)
    }
    for (let i = 0; i < n; i++) out[i] = lut[out[i]]
  }
}

/** Draws parameters from `rng` and returns a new augmented image (the input is untouched). */
export function augment(img: Img, aug: Augmentation, rng: () => number): Img {
  const p = sampleAugmentParams(aug, rng, img.width, img.height)
  const out = new Uint8Array(img.width * img.height * 3)
  augmentInto(out, img, p)
  return { width: img.width, height: img.height, data: out }
}
