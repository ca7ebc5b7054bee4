// Browsers cannot show PPM/PGM (GTSRB's format), so the Predict view decodes binary P6/P5 itself for its
// previews. Parsing is pure (tested); drawing needs a canvas.

export interface DecodedImage {
  width: number
  height: number
  /** RGBA, 8 bits per channel. */
  rgba: Uint8ClampedArray<ArrayBuffer>
}

/** Decode a binary PPM (P6) or PGM (P5) with maxval <= 255; header comments are skipped. Null if not one. */
export function decodeNetpbm(bytes: Uint8Array): DecodedImage | null {
  if (bytes.length < 2 || bytes[0] !== 0x50 || (bytes[1] !== 0x36 && bytes[1] !== 0x35)) return null
  const channels = bytes[1] === 0x36 ? 3 : 1
  const fields: number[] = []
  let i = 2
  while (fields.length < 3 && i < bytes.length) {
    const c = bytes[i]
    if (c === 0x23) {
      while (i < bytes.length && bytes[i] !== 0x0a) i++
    } else if (c >= 0x30 && c <= 0x39) {
      let n = 0
      while (i < bytes.length && bytes[i] >= 0x30 && bytes[i] <= 0x39) n = n * 10 + bytes[i++] - 0x30
      fields.push(n)
      continue
    }
    i++
  }
  // Exactly one whitespace byte separates the header from the pixels; `i` stands on it.
  i++
  const [width, height, maxval] = fields
  if (!width || !height || !maxval || maxval > 255) return null
  const pixels = bytes.subarray(i)
  if (pixels.length < width * height * channels) return null
  const rgba = new Uint8ClampedArray(width * height * 4)
  const scale = 255 / maxval
  for (let p = 0; p < width * height; p++) {
    for (let k = 0; k < 3; k++) rgba[p * 4 + k] = pixels[p * channels + (channels === 3 ? k : 0)] * scale
    rgba[p * 4 + 3] = 255
  }
  return { width, height, rgba }
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
