// Decode any supported image file to 8-bit RGB pixels. Used by the media service (thumbnails, full view)
// and by the ML engine's data pipeline. sharp cannot read Netpbm or BMP, so those are decoded here; the
// rest (PNG, JPEG, WebP, GIF first frame) go through sharp. Files are read bounded (regular files only, at
// most MAX_IMAGE_FILE_BYTES, through fs/safeFile), and with `maxPixels` the dimensions are read from the
// header and checked before any pixel is decoded; `maxSide` makes sharp downscale while it decodes.
import sharp from 'sharp'
import type { Roi } from '../../shared/types'
import { decodePnm, ImageFormatError, type RgbPixels } from '../../shared/netpbm'
import { readBounded, SafeFileError } from '../fs/safeFile'
import { bmpHeader, imageDimensions, sniffFormat } from './format'
import { codeOf, messageError, withCode } from '../errors'
import { formatMessage } from '../../shared/messages'

/** The largest image file read (a 20,000 px square 8-bit PPM is 1.2 GB). */
export const MAX_IMAGE_FILE_BYTES = 1.5 * 2 ** 30

/** Interleaved RGB, row-major, `data.length === width * height * 3`. */
export type RgbImage = RgbPixels

export interface DecodeOptions {
  /** Crop to this region (stored-file pixel coordinates; rounded outwards, clamped to the image). */
  crop?: Roi | null
  /**
   * Refuse an image with more pixels than this (width x height from its header), before decoding anything.
   * Without it, only sharp's own limit (about 268 Mpx) applies.
   */
  maxPixels?: number
  /** Downscale (keeping the aspect ratio) so that the longer side is at most this many pixels. */
  maxSide?: number
}

/** An image larger than `maxPixels`: refused before decoding. */
export class ImageTooLargeError extends ImageFormatError {
  constructor(
    readonly width: number,
    readonly height: number,
    readonly maxPixels: number
  ) {
    super(
      `The image is ${width} x ${height} pixels (${((width * height) / 1e6).toFixed(0)} megapixels), more than ` +
        `the ${(maxPixels / 1e6).toFixed(0)} megapixels that are decoded for viewing.`
    )
    this.name = 'ImageTooLargeError'
    withCode(this, 'image.tooLarge', {
      width,
      height,
      mp: ((width * height) / 1e6).toFixed(0),
      max: (maxPixels / 1e6).toFixed(0)
    })
  }
}

/** The catalogue code of a coded error, as a coded `{reason}` (see errors/userError `reasonOf`). */
function codedReason(err: unknown): Record<string, string> {
  const c = codeOf(err)
  return c ? { reasonCode: c.code, reasonParams: JSON.stringify(c.params) } : {}
}

/** Read and decode a file. Errors name the file and say why. */
export async function decodeImage(path: string, opts: DecodeOptions = {}): Promise<RgbImage> {
  let bytes: Buffer
  try {
    bytes = await readBounded(path, MAX_IMAGE_FILE_BYTES, { what: 'image' })
  } catch (err) {
    const code = err instanceof SafeFileError ? err.sysError?.code : (err as NodeJS.ErrnoException).code
    const why =
      code === 'ENOENT'
        ? { reason: formatMessage('image.moved'), reasonCode: 'image.moved', reasonParams: '{}' }
        : { reason: (err as Error).message, ...codedReason(err) }
    throw messageError('image.unreadable', { path, ...why })
  }
  try {
    return await decodeImageBytes(bytes, opts)
  } catch (err) {
    throw messageError('image.undecodable', { path, reason: (err as Error).message, ...codedReason(err) })
  }
}

export async function decodeImageBytes(bytes: Uint8Array, opts: DecodeOptions = {}): Promise<RgbImage> {
  const format = sniffFormat(bytes)
  if (format && opts.maxPixels !== undefined) {
    const { width, height } = imageDimensions(bytes)
    if (width * height > opts.maxPixels) throw new ImageTooLargeError(width, height, opts.maxPixels)
  }
  let image: RgbImage
  if (format === 'ppm' || format === 'pgm') image = decodePnm(bytes)
  else if (format === 'bmp') image = decodeBmp(bytes)
  else if (format) {
    let pipeline = sharp(bytes, {
      pages: 1,
      ...(opts.maxPixels !== undefined ? { limitInputPixels: Math.max(1, Math.floor(opts.maxPixels)) } : {})
    })
    // Cropping needs the stored-file coordinates, so a crop is taken before any downscale.
    if (opts.maxSide && !opts.crop) {
      pipeline = pipeline.resize(opts.maxSide, opts.maxSide, { fit: 'inside', withoutEnlargement: true })
    }
    const { data, info } = await pipeline
      .flatten({ background: { r: 0, g: 0, b: 0 } })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true })
    image = toRgb(
      new Uint8Array(data.buffer, data.byteOffset, data.length),
      info.width,
      info.height,
      info.channels
    )
  } else throw withCode(new ImageFormatError(''), 'image.unsupported')
  if (opts.crop) image = cropRgb(image, opts.crop)
  return opts.maxSide ? fitInside(image, opts.maxSide) : image
}

/** `image` scaled down so its longer side is at most `maxSide` (unchanged when it already fits). */
async function fitInside(image: RgbImage, maxSide: number): Promise<RgbImage> {
  if (Math.max(image.width, image.height) <= maxSide) return image
  const { data, info } = await sharp(
    Buffer.from(image.data.buffer, image.data.byteOffset, image.data.length),
    { raw: { width: image.width, height: image.height, channels: 3 } }
  )
    .resize(maxSide, maxSide, { fit: 'inside' })
    .raw()
    .toBuffer({ resolveWithObject: true })
  return toRgb(
    new Uint8Array(data.buffer, data.byteOffset, data.length),
    info.width,
    info.height,
    info.channels
  )
}

export function decodeBmp(bytes: Uint8Array): RgbImage {
  const info = bmpHeader(bytes)
  const { width, height } = info.header
  const out = new Uint8Array(width * height * 3)
  const bpp = info.bitsPerPixel
  const shiftOf = (mask: number): number => (mask === 0 ? 0 : 31 - Math.clz32(mask & -mask))
  const masks = info.masks
  for (let y = 0; y < height; y++) {
    const row = info.dataOffset + (info.topDown ? y : height - 1 - y) * info.rowStride
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3
      if (bpp === 24 || (bpp === 32 && !masks)) {
        const p = row + x * (bpp / 8)
        out[o] = bytes[p + 2]
        out[o + 1] = bytes[p + 1]
        out[o + 2] = bytes[p]
      } else if (bpp === 32 && masks) {
        const p = row + x * 4
        const v = (bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16) | (bytes[p + 3] << 24)) >>> 0
        const ch = (m: number): number => {
          if (!m) return 0
          const max = (m >>> 0) >>> shiftOf(m)
          return Math.round((((v & m) >>> 0) >>> shiftOf(m)) * (255 / max))
        }
        out[o] = ch(masks.r)
        out[o + 1] = ch(masks.g)
        out[o + 2] = ch(masks.b)
      } else {
        const perByte = 8 / bpp
        const byte = bytes[row + Math.floor(x / perByte)]
        const shift = 8 - bpp * ((x % perByte) + 1)
        const idx = (byte >> shift) & ((1 << bpp) - 1)
        const pal = info.palette as Uint8Array
        if (idx * 3 + 2 >= pal.length)
          throw new ImageFormatError(`corrupt BMP: palette index ${idx} out of range`)
        out[o] = pal[idx * 3]
        out[o + 1] = pal[idx * 3 + 1]
        out[o + 2] = pal[idx * 3 + 2]
      }
    }
  }
  return { width, height, data: out }
}

function toRgb(data: Uint8Array, width: number, height: number, channels: number): RgbImage {
  if (channels === 3) return { width, height, data }
  const out = new Uint8Array(width * height * 3)
  for (let i = 0, n = width * height; i < n; i++) {
    if (channels <= 2) out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = data[i * channels]
    else {
      out[i * 3] = data[i * channels]
      out[i * 3 + 1] = data[i * channels + 1]
      out[i * 3 + 2] = data[i * channels + 2]
    }
  }
  return { width, height, data: out }
}

/** Crop to the ROI; coordinates are rounded outwards so a fractional (scaled) ROI keeps its content. */
export function cropRgb(image: RgbImage, roi: Roi): RgbImage {
  const x1 = Math.max(0, Math.min(image.width - 1, Math.floor(roi.x1)))
  const y1 = Math.max(0, Math.min(image.height - 1, Math.floor(roi.y1)))
  const x2 = Math.max(x1 + 1, Math.min(image.width, Math.ceil(roi.x2)))
  const y2 = Math.max(y1 + 1, Math.min(image.height, Math.ceil(roi.y2)))
  const w = x2 - x1
  const h = y2 - y1
  const out = new Uint8Array(w * h * 3)
  for (let y = 0; y < h; y++) {
    const src = ((y1 + y) * image.width + x1) * 3
    out.set(image.data.subarray(src, src + w * 3), y * w * 3)
  }
  return { width: w, height: h, data: out }
}

/** Encode RGB pixels as PNG, optionally scaled to fit in `size` x `size` (thumbnails). */
export async function encodePng(image: RgbImage, size?: number): Promise<Buffer> {
  let pipeline = sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.length), {
    raw: { width: image.width, height: image.height, channels: 3 }
  })
  if (size) {
    // Small sources (GTSRB is 32 px) are upscaled; cubic keeps them soft rather than blocky.
    pipeline = pipeline.resize(size, size, { fit: 'inside', kernel: 'cubic' })
  }
  return pipeline.png({ compressionLevel: 6 }).toBuffer()
}
