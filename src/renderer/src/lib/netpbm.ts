// Browsers cannot show PPM/PGM (GTSRB's format), so the Predict view decodes them itself for its previews,
// with the backend's own parser (src/shared/netpbm.ts). Decoding is pure (tested); drawing needs a canvas.
import { decodePnm } from '@shared/netpbm'

export interface DecodedImage {
  width: number
  height: number
  /** RGBA, 8 bits per channel. */
  rgba: Uint8ClampedArray<ArrayBuffer>
}

/** Decode a PPM or PGM (binary or ASCII, any maxval) to RGBA; null when it is not one or is broken. */
export function decodeNetpbm(bytes: Uint8Array): DecodedImage | null {
  if (bytes.length < 2 || bytes[0] !== 0x50) return null
  let rgb
  try {
    rgb = decodePnm(bytes)
  } catch {
    // Not a Netpbm file, or a broken one: the preview falls back to the file's name.
    return null
  }
  const n = rgb.width * rgb.height
  const rgba = new Uint8ClampedArray(n * 4)
  for (let p = 0; p < n; p++) {
    rgba[p * 4] = rgb.data[p * 3]
    rgba[p * 4 + 1] = rgb.data[p * 3 + 1]
    rgba[p * 4 + 2] = rgb.data[p * 3 + 2]
    rgba[p * 4 + 3] = 255
  }
  return { width: rgb.width, height: rgb.height, rgba }
}

/** A URL an <img> can show for a PPM/PGM file (a PNG data URL), or null when it is not one. */
export async function netpbmPreviewUrl(file: Blob): Promise<string | null> {
  const image = decodeNetpbm(new Uint8Array(await file.arrayBuffer()))
  if (!image) return null
  const canvas = document.createElement('canvas')
  canvas.width = image.width
  canvas.height = image.height
  const ctx = canvas.getContext('2d')
  if (!ctx) return null
  ctx.putImageData(new ImageData(image.rgba, image.width, image.height), 0, 0)
  return canvas.toDataURL('image/png')
}
