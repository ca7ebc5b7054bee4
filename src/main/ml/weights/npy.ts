// NPY files (numpy's `np.save` format, versions 1.0, 2.0 and 3.0) read natively, without Python.
//
// An NPY file is a magic string, a header that is a Python dict literal ('descr', 'fortran_order',
// 'shape'), and the array bytes; for object arrays ('descr': '|O', how `bvlc-alexnet.npy` stores its dict
// of layers) the body is a pickle, which `pickle.ts` reads without executing anything. `toFloat32` turns
// numeric arrays of any float dtype, byte order or memory order into C-ordered float32 copies.
// `readNpyStructure` reads only the header and the pickle's structure, by position, for checks that need
// shapes and not values (the backend's event loop must not parse 244 MB to say whether a file fits).
// Bounded: `readNpyFile` and `withRegularFile` read regular files only (fs/safeFile), and a numeric array's
// file must hold exactly the bytes its header's shape and dtype declare, checked before the data is read.
// Messages describe what was expected and found, never the file's bytes.
import { openRegularFile, SafeFileError } from '../../fs/safeFile'
import {
  NdArray,
  PickleError,
  dtypeFromDescr,
  readPickleSkeleton,
  unpickle,
  type ByteSource,
  type PyValue
} from './pickle'

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59] // \x93NUMPY

/** A file that is not a readable NPY file (wrong magic, bad or truncated header, truncated data). */
export class NpyError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'NpyError'
  }
}

export interface NpyHeader {
  version: { major: number; minor: number }
  /** numpy dtype string, e.g. '<f4' or '|O'. */
  descr: string
  fortranOrder: boolean
  shape: number[]
  /** Byte offset where the array data (or the pickle, for '|O') starts. */
  dataOffset: number
}

export interface NpyContent {
  header: NpyHeader
  /** Numeric arrays: an NdArray viewing `buf`. Object arrays: whatever the pickle holds (usually a 0-d NdArray). */
  value: PyValue
}

/** Parses the magic and header dict of an NPY file held in `buf`. */
export function parseNpyHeader(buf: Uint8Array): NpyHeader {
  if (buf.length === 0) throw new NpyError('not an NPY file: the file is empty')
  const n = Math.min(buf.length, MAGIC.length)
  for (let i = 0; i < n; i++) {
    if (buf[i] !== MAGIC[i]) throw new NpyError(`not an NPY file: ${notNpyHint(buf)}`)
  }
  if (buf.length < 10) {
    throw new NpyError(
      `truncated file: ${buf.length} bytes is shorter than the NPY preamble (at least 10 bytes)`
    )
  }
  const major = buf[6]
  const minor = buf[7]
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  let headerLen: number
  let headerStart: number
  if (major === 1) {
    headerLen = view.getUint16(8, true)
    headerStart = 10
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) throw new NpyError('truncated file: the NPY header length is cut off')
    headerLen = view.getUint32(8, true)
    headerStart = 12
  } else {
    throw new NpyError(
      `unsupported NPY format version ${major}.${minor} (this reader knows 1.0, 2.0 and 3.0)`
    )
  }
  const dataOffset = headerStart + headerLen
  if (dataOffset > buf.length) {
    throw new NpyError(
      `truncated file: the NPY header should be ${headerLen} bytes but the file ends after ` +
        `${buf.length - headerStart}`
    )
  }
  const text = Buffer.from(buf.buffer, buf.byteOffset + headerStart, headerLen).toString(
    major === 3 ? 'utf8' : 'latin1'
  )
  let dict: unknown
  try {
    dict = parsePyLiteral(text)
  } catch (e) {
    throw new NpyError(`bad NPY header: it is not the Python dict numpy writes (${(e as Error).message})`)
  }
  if (!(dict instanceof Map)) throw new NpyError('bad NPY header: it is not a Python dict')
  const descr = dict.get('descr')
  const fortran = dict.get('fortran_order')
  const shape = dict.get('shape')
  if (typeof descr !== 'string') {
    throw new NpyError(`unsupported NPY dtype: 'descr' is not a string (structured arrays are not supported)`)
  }
  if (typeof fortran !== 'boolean') {
    throw new NpyError(
      `bad NPY header: 'fortran_order' is ${fortran === undefined ? 'undefined' : 'not True or False'}`
    )
  }
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0)) {
    throw new NpyError(`bad NPY header: 'shape' is not a tuple of non-negative integers`)
  }
  return { version: { major, minor }, descr, fortranOrder: fortran, shape: shape as number[], dataOffset }
}

function notNpyHint(buf: Uint8Array): string {
  const head = Buffer.from(buf.buffer, buf.byteOffset, Math.min(buf.length, 8))
  if (head[0] === 0x50 && head[1] === 0x4b) return 'it is a ZIP archive (an .npz file?), not a single array'
  if (head[0] === 0x80) return 'it looks like a bare Python pickle without the NPY header'
  if (buf.length < MAGIC.length) return `the file is only ${buf.length} bytes`
  // Never the bytes themselves: a check pointed at /etc/passwd must not echo it.
  const text = head.every((b) => b === 0x09 || b === 0x0a || b === 0x0d || (b >= 0x20 && b < 0x7f))
  return `it does not start with the NPY magic \\x93NUMPY (it starts with ${text ? 'plain text' : 'other binary data'})`
}

/** The dtype a header names, with numpy's own words for an unknown one. */
function dtypeOf(header: NpyHeader): ReturnType<typeof dtypeFromDescr> {
  try {
    return dtypeFromDescr(header.descr)
  } catch (e) {
    throw new NpyError((e as Error).message)
  }
}

/** A pickle problem inside an object array is the NPY file's problem. */
function asNpyError<T>(fn: () => T): T {
  try {
    return fn()
  } catch (e) {
    if (e instanceof PickleError) throw new NpyError(e.message)
    throw e
  }
}

async function asNpyErrorAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (e) {
    if (e instanceof PickleError) throw new NpyError(e.message)
    throw e
  }
}

/**
 * The array a (non-object) header describes, refused unless the file (`available` bytes) holds exactly its
 * data after the header: numpy writes nothing after it, so a difference either way is a damaged file.
 */
function arrayOf(header: NpyHeader, dtype: ReturnType<typeof dtypeFromDescr>, available: number): NdArray {
  const arr = new NdArray()
  arr.shape = header.shape
  arr.dtype = dtype
  arr.fortranOrder = header.fortranOrder
  const bytes = arr.size * dtype.itemsize
  if (header.dataOffset + bytes > available) {
    throw new NpyError(
      `truncated file: array (${arr.shape.join(', ')}) ${header.descr} needs ${bytes} bytes of data from ` +
        `offset ${header.dataOffset} but the file has ${available - header.dataOffset}`
    )
  }
  if (header.dataOffset + bytes < available) {
    throw new NpyError(
      `the header declares an array (${arr.shape.join(', ')}) ${header.descr} of ${bytes} bytes, but the ` +
        `file holds ${available - header.dataOffset} bytes of data after the header`
    )
  }
  return arr
}

/** Parses an NPY file held in `buf` (the whole file; offsets in errors are file offsets). */
export function parseNpy(buf: Uint8Array): NpyContent {
  const header = parseNpyHeader(buf)
  const dtype = dtypeOf(header)
  if (dtype.kind === 'O') return { header, value: asNpyError(() => unpickle(buf, header.dataOffset).value) }
  const arr = arrayOf(header, dtype, buf.length)
  arr.raw = buf.subarray(header.dataOffset, header.dataOffset + arr.size * dtype.itemsize)
  return { header, value: arr }
}

/** The largest NPY header a structure read accepts (numpy writes well under 1 KB). */
const MAX_HEADER_BYTES = 1 << 20

/** The largest NPY file read whole (an ArrayBuffer; BVLC AlexNet is 244 MB). */
export const MAX_NPY_BYTES = 2 ** 31 - 1

/**
 * Runs `fn` on a positioned-read view of the regular file at `path` (FIFOs, devices and folders are refused
 * before anything is opened, by fs/safeFile; reads never go past the size the open handle reported).
 */
export async function withRegularFile<T>(
  path: string,
  fn: (src: ByteSource) => Promise<T>,
  maxBytes = MAX_NPY_BYTES
): Promise<T> {
  let file
  try {
    file = await openRegularFile(path, { maxBytes, what: 'NPY file' })
  } catch (e) {
    // A missing or unreadable file keeps its system error (callers word it); the rest is the file's problem.
    if (e instanceof SafeFileError && e.sysError) throw e.sysError
    if (e instanceof SafeFileError) throw new NpyError(e.message)
    throw e
  }
  try {
    const size = file.size
    return await fn({
      size,
      async read(offset, length) {
        const n = Math.max(0, Math.min(length, size - offset))
        return n === 0 ? new Uint8Array(0) : file.read(offset, n)
      }
    })
  } finally {
    await file.close()
  }
}

/**
 * Reads a whole NPY file: a regular file of at most `maxBytes`; for a numeric array the header is read first
 * and the file must hold exactly the bytes it declares, so nothing is read past what the header promises.
 */
export async function readNpyFile(path: string, maxBytes = MAX_NPY_BYTES): Promise<NpyContent> {
  return withRegularFile(
    path,
    async (src) => {
      await readNpyStructure(src)
      return parseNpy(await src.read(0, src.size))
    },
    maxBytes
  )
}

/**
 * The header of an NPY file and its structure without array data: a numeric array comes back with `raw`
 * null and `unreadAt` set (after checking that the file holds all its bytes); an object array's pickle is
 * read as a skeleton (`readPickleSkeleton`), so its arrays carry shapes and dtypes only.
 */
export async function readNpyStructure(src: ByteSource): Promise<NpyContent> {
  const preamble = await src.read(0, 12)
  let headerEnd = preamble.length
  if (preamble.length >= 10 && preamble[6] === 1) headerEnd = 10 + (preamble[8] | (preamble[9] << 8))
  else if (preamble.length >= 12 && (preamble[6] === 2 || preamble[6] === 3)) {
    headerEnd = 12 + new DataView(preamble.buffer, preamble.byteOffset, 12).getUint32(8, true)
  }
  if (headerEnd > MAX_HEADER_BYTES) {
    throw new NpyError(`bad NPY header: it claims ${headerEnd} bytes (numpy writes under 1 KB)`)
  }
  const header = parseNpyHeader(await src.read(0, headerEnd))
  const dtype = dtypeOf(header)
  if (dtype.kind === 'O') {
    const skeleton = await asNpyErrorAsync(() => readPickleSkeleton(src, header.dataOffset))
    return { header, value: asNpyError(() => unpickle(skeleton.bytes, 0, { skeleton }).value) }
  }
  const arr = arrayOf(header, dtype, src.size)
  arr.unreadAt = header.dataOffset
  return { header, value: arr }
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/**
 * A C-ordered float32 copy of a numeric array: float32 is one memcpy, float64 is narrowed (round to
 * nearest), float16 widened; big-endian and Fortran-ordered data are reordered. `what` names the array
 * in error messages. Integer and other dtypes are rejected: weights must be floats.
 */
export function toFloat32(arr: NdArray, what: string): Float32Array {
  const raw = arr.raw
  const dt = arr.dtype
  if (!raw) throw new NpyError(`${what}: expected a numeric array, found an object array`)
  if (dt.kind !== 'f' || (dt.itemsize !== 2 && dt.itemsize !== 4 && dt.itemsize !== 8)) {
    throw new NpyError(`${what}: unsupported dtype ${dt.str}; weights must be float32, float64 or float16`)
  }
  const n = arr.size
  const little =
    dt.byteorder === '<' || ((dt.byteorder === '=' || dt.byteorder === '|') && LITTLE_ENDIAN_HOST)
  const out = new Float32Array(n)
  if (dt.itemsize === 4 && little === LITTLE_ENDIAN_HOST) {
    new Uint8Array(out.buffer).set(raw)
  } else if (dt.itemsize === 8 && little === LITTLE_ENDIAN_HOST) {
    // Copy to an aligned buffer first (the source offset in the file is arbitrary), then narrow natively.
    const f64 = new Float64Array(n)
    new Uint8Array(f64.buffer).set(raw)
    out.set(f64)
  } else {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength)
    if (dt.itemsize === 4) for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, little)
    else if (dt.itemsize === 8) for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, little)
    else for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(i * 2, little))
  }
  return arr.fortranOrder && arr.shape.length > 1 ? fortranToC(out, arr.shape) : out
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1
  const exp = (h >> 10) & 0x1f
  const frac = h & 0x3ff
  if (exp === 0) return sign * frac * 2 ** -24
  if (exp === 0x1f) return frac ? NaN : sign * Infinity
  return sign * (1 + frac / 1024) * 2 ** (exp - 15)
}

/** Reorders column-major data into row-major (C) order for the same shape. */
function fortranToC(src: Float32Array, shape: number[]): Float32Array {
  // Column-major (d0, ..., dn) is row-major (dn, ..., d0); for 2-D that is a plain transpose, and
  // fc6/fc7/fc8 (converted from Caffe by transposing) are the big 2-D cases, so they get a tiled one.
  if (shape.length === 2) return transpose(src, shape[1], shape[0])
  const nd = shape.length
  const fStride: number[] = new Array(nd)
  let s = 1
  for (let d = 0; d < nd; d++) {
    fStride[d] = s
    s *= shape[d]
  }
  const out = new Float32Array(src.length)
  const last = nd - 1
  const inner = shape[last]
  const innerStride = fStride[last]
  const idx = new Array<number>(nd).fill(0)
  let f = 0
  for (let c = 0; c < src.length; c += inner) {
    for (let j = 0, fj = f; j < inner; j++, fj += innerStride) out[c + j] = src[fj]
    // Advance the C-order index over the outer axes, keeping the matching column-major offset.
    for (let d = last - 1; d >= 0; d--) {
      idx[d]++
      f += fStride[d]
      if (idx[d] < shape[d]) break
      f -= fStride[d] * shape[d]
      idx[d] = 0
    }
  }
  return out
}

/** Row-major rows x cols -> row-major cols x rows, in tiles that stay in cache. */
function transpose(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(src.length)
  const T = 64
  for (let r0 = 0; r0 < rows; r0 += T) {
    const r1 = Math.min(r0 + T, rows)
    for (let c0 = 0; c0 < cols; c0 += T) {
      const c1 = Math.min(c0 + T, cols)
      for (let r = r0; r < r1; r++) {
        let i = r * cols + c0
        for (let c = c0; c < c1; c++) out[c * rows + r] = src[i++]
      }
    }
  }
  return out
}

// --- the NPY header's Python literal: {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4L), } ---

type Literal = string | number | boolean | null | Literal[] | Map<string, Literal>

function parsePyLiteral(text: string): Literal {
  let i = 0
  const ws = (): void => {
    while (i < text.length && /\s/.test(text[i])) i++
  }
  const expect = (ch: string): void => {
    ws()
    if (text[i] !== ch) throw new Error(`expected '${ch}' at character ${i}`)
    i++
  }
  const value = (): Literal => {
    ws()
    const c = text[i]
    if (c === '{') {
      i++
      const m = new Map<string, Literal>()
      for (;;) {
        ws()
        if (text[i] === '}') {
          i++
          return m
        }
        const k = value()
        if (typeof k !== 'string') throw new Error('dict key is not a string')
        expect(':')
        m.set(k, value())
        ws()
        if (text[i] === ',') i++
        else if (text[i] !== '}') throw new Error(`expected ',' or '}' at character ${i}`)
      }
    }
    if (c === '(' || c === '[') {
      const close = c === '(' ? ')' : ']'
      i++
      const items: Literal[] = []
      for (;;) {
        ws()
        if (text[i] === close) {
          i++
          return items
        }
        items.push(value())
        ws()
        if (text[i] === ',') i++
        else if (text[i] !== close) throw new Error(`expected ',' or '${close}' at character ${i}`)
      }
    }
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1)
      if (end < 0) throw new Error('unterminated string')
      const s = text.slice(i + 1, end)
      if (s.includes('\\')) throw new Error('escapes in header strings are not supported')
      i = end + 1
      return s
    }
    const m = /^(-?\d+)L?|^(True|False|None)\b/.exec(text.slice(i, i + 40))
    if (!m) throw new Error(`unexpected ${JSON.stringify(text.slice(i, i + 10))} at character ${i}`)
    i += m[0].length
    if (m[1] !== undefined) return Number(m[1])
    return m[2] === 'True' ? true : m[2] === 'False' ? false : null
  }
  const v = value()
  ws()
  if (i !== text.length) throw new Error(`unexpected text after the header dict at character ${i}`)
  return v
}
