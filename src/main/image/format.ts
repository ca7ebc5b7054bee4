// Recognise an image file from its bytes and read its size without decoding pixels. The importer runs
// this on every file (it must stay cheap: 50,000 images at >= 1,000/s), and it is also where broken files
// are caught: each problem becomes an `ImageFormatError` whose message is shown to the user as is.
import {
  checkPnmComplete,
  checkSize,
  ImageFormatError,
  parsePnmHeader,
  type PnmHeader
} from '../../shared/netpbm'
import type { ImageFormat } from '../../shared/types'

/** File extensions of images the studio reads (the importer's walker and folder data); others are ignored. */
export const IMAGE_EXTENSIONS = new Set([
  '.ppm',
  '.pgm',
  '.pnm',
  '.png',
  '.jpg',
  '.jpeg',
  '.jfif',
  '.webp',
  '.bmp',
  '.dib',
  '.gif'
])

export interface ImageHeader {
  format: ImageFormat
  width: number
  height: number
}

const u16be = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1]
const u16le = (b: Uint8Array, o: number): number => b[o] | (b[o + 1] << 8)
const u32be = (b: Uint8Array, o: number): number =>
  ((b[o] << 24) >>> 0) + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3])
const u32le = (b: Uint8Array, o: number): number =>
  (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) + b[o + 3] * 0x1000000
const i32le = (b: Uint8Array, o: number): number =>
  b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)
const ascii = (b: Uint8Array, o: number, n: number): string => String.fromCharCode(...b.subarray(o, o + n))

/** Which format the bytes are, by magic number (the extension is not trusted). */
export function sniffFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 2 && bytes[0] === 0x50) {
    if (bytes[1] === 0x33 || bytes[1] === 0x36) return 'ppm'
    if (bytes[1] === 0x32 || bytes[1] === 0x35) return 'pgm'
  }
  if (bytes.length >= 8 && u32be(bytes, 0) === 0x89504e47 && u32be(bytes, 4) === 0x0d0a1a0a) return 'png'
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg'
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') return 'webp'
  if (bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d) return 'bmp'
  if (bytes.length >= 6 && (ascii(bytes, 0, 6) === 'GIF87a' || ascii(bytes, 0, 6) === 'GIF89a')) return 'gif'
  return null
}

/**
 * Identify the file and read its dimensions; also run cheap structural checks (end markers, declared sizes)
 * so that truncated files are reported at import rather than when a thumbnail is first drawn.
 */
export function readImageHeader(bytes: Uint8Array): ImageHeader | PnmHeader {
  if (bytes.length === 0) throw new ImageFormatError('empty file (0 bytes)')
  const format = sniffFormat(bytes)
  switch (format) {
    case 'ppm':
    case 'pgm': {
      const h = parsePnmHeader(bytes)
      checkPnmComplete(h, bytes.length)
      return h
    }
    case 'png':
      return pngHeader(bytes)
    case 'jpeg':
      return jpegHeader(bytes)
    case 'webp':
      return webpHeader(bytes)
    case 'bmp':
      return bmpHeader(bytes).header
    case 'gif':
      return gifHeader(bytes)
    default:
      throw new ImageFormatError(
        'not a supported image (unknown content: expected PPM, PGM, PNG, JPEG, WebP, BMP or GIF)'
      )
  }
}

function pngHeader(b: Uint8Array): ImageHeader {
  if (b.length < 33 || ascii(b, 12, 4) !== 'IHDR') throw new ImageFormatError('truncated PNG: no IHDR chunk')
  const width = u32be(b, 16)
  const height = u32be(b, 20)
  checkSize(width, height)
  // The last chunk of a complete PNG is IEND; a few writers add bytes after it, so look for it near the end.
  if (b.length < 45 || Buffer.from(b.buffer, b.byteOffset, b.length).lastIndexOf('IEND', -1, 'latin1') < 33) {
    throw new ImageFormatError('truncated PNG: no IEND chunk at the end')
  }
  return { format: 'png', width, height }
}

/**
 * Width and height from the header alone, without the structural checks of `readImageHeader` (no end-marker
 * search): what a decoder checks against its pixel budget before it allocates anything.
 */
export function imageDimensions(bytes: Uint8Array): { width: number; height: number } {
  const format = sniffFormat(bytes)
  let size: { width: number; height: number }
  switch (format) {
    case 'ppm':
    case 'pgm': {
      const h = parsePnmHeader(bytes)
      size = { width: h.width, height: h.height }
      break
    }
    case 'png':
      if (bytes.length < 24 || ascii(bytes, 12, 4) !== 'IHDR') {
        throw new ImageFormatError('truncated PNG: no IHDR chunk')
      }
      size = { width: u32be(bytes, 16), height: u32be(bytes, 20) }
      break
    case 'jpeg': {
      const frame = jpegFrame(bytes).size
      if (!frame) throw new ImageFormatError('truncated JPEG: no frame header')
      size = frame
      break
    }
    case 'webp':
      size = webpHeader(bytes)
      break
    case 'bmp':
      size = bmpHeader(bytes).header
      break
    case 'gif':
      if (bytes.length < 10) throw new ImageFormatError('truncated GIF: no screen descriptor')
      size = { width: u16le(bytes, 6), height: u16le(bytes, 8) }
      break
    default:
      throw new ImageFormatError('not a supported image')
  }
  checkSize(size.width, size.height)
  return { width: size.width, height: size.height }
}

/** The JPEG frame size (null when no frame header is found) and where the search stopped. */
function jpegFrame(b: Uint8Array): { size: { width: number; height: number } | null; pos: number } {
  let pos = 2
  let size: { width: number; height: number } | null = null
  while (pos + 4 <= b.length) {
    if (b[pos] !== 0xff) throw new ImageFormatError('corrupt JPEG: bad marker')
    const marker = b[pos + 1]
    if (marker === 0xff) {
      pos++
      continue
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      pos += 2
      continue
    }
    const len = u16be(b, pos + 2)
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (pos + 9 > b.length) break
      size = { height: u16be(b, pos + 5), width: u16be(b, pos + 7) }
      break
    }
    if (marker === 0xda) break
    pos += 2 + len
  }
  return { size, pos }
}

function jpegHeader(b: Uint8Array): ImageHeader {
  const { size, pos } = jpegFrame(b)
  if (!size) throw new ImageFormatError('truncated JPEG: no frame header')
  checkSize(size.width, size.height)
  // A complete JPEG has an EOI marker (FF D9) after its frame header; cameras may append trailers after it,
  // and an EXIF thumbnail's own EOI comes before the frame header, so any EOI after `pos` counts.
  const eoi = Buffer.from(b.buffer, b.byteOffset, b.length).lastIndexOf(Buffer.from([0xff, 0xd9]))
  if (eoi < pos) throw new ImageFormatError('truncated JPEG: no end-of-image marker')
  return { format: 'jpeg', ...size }
}

function webpHeader(b: Uint8Array): ImageHeader {
  const riffSize = u32le(b, 4)
  if (b.length < riffSize + 8) {
    throw new ImageFormatError(`truncated WebP: header says ${riffSize + 8} bytes, file has ${b.length}`)
  }
  if (b.length < 30) throw new ImageFormatError('truncated WebP: no image header')
  const chunk = ascii(b, 12, 4)
  let width: number
  let height: number
  if (chunk === 'VP8 ') {
    width = u16le(b, 26) & 0x3fff
    height = u16le(b, 28) & 0x3fff
  } else if (chunk === 'VP8L') {
    const bits = u32le(b, 21)
    width = (bits & 0x3fff) + 1
    height = ((bits >>> 14) & 0x3fff) + 1
  } else if (chunk === 'VP8X') {
    width = 1 + (b[24] | (b[25] << 8) | (b[26] << 16))
    height = 1 + (b[27] | (b[28] << 8) | (b[29] << 16))
  } else throw new ImageFormatError(`unsupported WebP chunk ${JSON.stringify(chunk)}`)
  checkSize(width, height)
  return { format: 'webp', width, height }
}

function gifHeader(b: Uint8Array): ImageHeader {
  if (b.length < 13) throw new ImageFormatError('truncated GIF: no screen descriptor')
  const width = u16le(b, 6)
  const height = u16le(b, 8)
  checkSize(width, height)
  // The trailer byte 0x3B ends a complete GIF; ignore zero padding some writers add after it.
  let end = b.length - 1
  while (end > 13 && b[end] === 0) end--
  if (b[end] !== 0x3b) throw new ImageFormatError('truncated GIF: no trailer byte at the end')
  return { format: 'gif', width, height }
}

/** What the BMP decoder needs from the headers. */
export interface BmpInfo {
  header: ImageHeader
  dataOffset: number
  bitsPerPixel: number
  /** Rows are stored bottom-up unless the height in the file is negative. */
  topDown: boolean
  rowStride: number
  /** Channel masks for 32-bit BI_BITFIELDS files (else the default BGRX). */
  masks: { r: number; g: number; b: number } | null
  palette: Uint8Array | null
}

/** Uncompressed BMP (1/4/8-bit palette, 24-bit, 32-bit incl. BI_BITFIELDS); RLE is refused with a reason. */
export function bmpHeader(b: Uint8Array): BmpInfo {
  if (b.length < 26) throw new ImageFormatError('truncated BMP: no header')
  const dataOffset = u32le(b, 10)
  const dibSize = u32le(b, 14)
  let width: number
  let rawHeight: number
  let bitsPerPixel: number
  let compression = 0
  let colours = 0
  if (dibSize === 12) {
    width = u16le(b, 18)
    rawHeight = u16le(b, 20)
    bitsPerPixel = u16le(b, 24)
  } else {
    if (b.length < 54) throw new ImageFormatError('truncated BMP: no info header')
    width = i32le(b, 18)
    rawHeight = i32le(b, 22)
    bitsPerPixel = u16le(b, 28)
    compression = u32le(b, 30)
    colours = u32le(b, 46)
  }
  const topDown = rawHeight < 0
  const height = Math.abs(rawHeight)
  checkSize(width, height)
  if (![1, 4, 8, 24, 32].includes(bitsPerPixel))
    throw new ImageFormatError(`unsupported BMP: ${bitsPerPixel} bits per pixel`)
  let masks: BmpInfo['masks'] = null
  if (compression === 3 && bitsPerPixel === 32) {
    if (b.length < 66) throw new ImageFormatError('truncated BMP: no colour masks')
    masks = { r: u32le(b, 54), g: u32le(b, 58), b: u32le(b, 62) }
  } else if (compression !== 0) {
    throw new ImageFormatError(`unsupported BMP compression ${compression} (only uncompressed BMP is read)`)
  }
  let palette: Uint8Array | null = null
  if (bitsPerPixel <= 8) {
    const entries = colours || 1 << bitsPerPixel
    const entrySize = dibSize === 12 ? 3 : 4
    const start = 14 + dibSize
    if (start + entries * entrySize > b.length) throw new ImageFormatError('truncated BMP: palette cut off')
    palette = new Uint8Array(entries * 3)
    for (let i = 0; i < entries; i++) {
      palette[i * 3] = b[start + i * entrySize + 2]
      palette[i * 3 + 1] = b[start + i * entrySize + 1]
      palette[i * 3 + 2] = b[start + i * entrySize]
    }
  }
  const rowStride = Math.floor((bitsPerPixel * width + 31) / 32) * 4
  const need = dataOffset + rowStride * height
  if (b.length < need) throw new ImageFormatError(`truncated BMP: expected ${need} bytes, found ${b.length}`)
  return {
    header: { format: 'bmp', width, height },
    dataOffset,
    bitsPerPixel,
    topDown,
    rowStride,
    masks,
    palette
  }
}
