// PyTorch's weight files (`torch.save(model.state_dict(), f)`), read natively and without running anything:
//   zip format (PyTorch >= 1.6, torchvision's newer files): a stored (uncompressed) ZIP with
//     `<name>/data.pkl` (the object pickle), `<name>/data/<key>` (one file per storage), `<name>/byteorder`;
//   legacy format (`_use_new_zipfile_serialization=False`; `alexnet-owt-7be5be79.pth` is one): pickles of the
//     magic number, the protocol version (1001), the system info and the object, then the list of storage
//     keys, then each storage as an 8-byte element count and its raw bytes, in that order.
// The object pickle goes through the studio's own pickle reader (pickle.ts), which executes nothing: it
// allows exactly what a state dict needs (collections.OrderedDict, torch._utils._rebuild_tensor_v2 and
// _rebuild_parameter, the storage types named by persistent ids) and refuses every other global by name.
// Tensors honour their storage offset and strides (a transposed view becomes a contiguous copy); float16,
// bfloat16 and float64 become float32, integers (num_batches_tracked) become float32 too.
// Bounded: only regular files (a FIFO or /dev/zero is refused before it is opened), every storage's
// declared size is checked against the file before anything is read, pickles are read in bounded windows,
// and tensor data is read with positioned reads, one storage at a time. The small ZIP reader is written here
// because PyTorch's archives need only stored entries and ZIP64 sizes, and no ZIP package is a dependency.
import { constants } from 'node:fs'
import { open, stat, type FileHandle } from 'node:fs/promises'
import { PickleError, PyGlobal, PyObject, asText, describe, unpickle, type PyValue } from './pickle'

export type PthDtype = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool'

/** A tensor as the file holds it, converted to float32, row-major (contiguous). */
export interface PthTensor {
  shape: number[]
  dtype: PthDtype
  data: Float32Array
}

export interface PthStructure {
  format: 'zip' | 'legacy'
  /** Tensor name -> shape and dtype, in the file's order. */
  tensors: Map<string, { shape: number[]; dtype: PthDtype }>
  /** Bytes of tensor data the file declares. */
  dataBytes: number
}

/** A file we refuse to read, with the reason. */
export class PthError extends Error {
  override name = 'PthError'
}

const STORAGE_TYPES: Record<string, { dtype: PthDtype; itemsize: number }> = {
  FloatStorage: { dtype: 'float32', itemsize: 4 },
  DoubleStorage: { dtype: 'float64', itemsize: 8 },
  HalfStorage: { dtype: 'float16', itemsize: 2 },
  BFloat16Storage: { dtype: 'bfloat16', itemsize: 2 },
  LongStorage: { dtype: 'int64', itemsize: 8 },
  IntStorage: { dtype: 'int32', itemsize: 4 },
  ShortStorage: { dtype: 'int16', itemsize: 2 },
  CharStorage: { dtype: 'int8', itemsize: 1 },
  ByteStorage: { dtype: 'uint8', itemsize: 1 },
  BoolStorage: { dtype: 'bool', itemsize: 1 }
}

/** A storage named by a persistent id: where its bytes are is filled in by the format's reader. */
interface Storage {
  key: string
  dtype: PthDtype
  itemsize: number
  numel: number
  /** Legacy views: elements into the root storage. */
  viewOffset: number
  /** File offset of the root storage's first element, and its element count (set after the pickle). */
  fileOffset?: number
  rootNumel?: number
}

interface TensorRef {
  storage: Storage
  offset: number
  shape: number[]
  stride: number[]
}

const intList = (v: PyValue, what: string): number[] => {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0))
    throw new Error(`${what} must be a tuple of non-negative integers, found ${describe(v)}`)
  return v as number[]
}

function storageOf(v: PyValue): Storage {
  if (!(v instanceof PyObject) || v.tag !== 'storage') throw new Error(`expected a storage, found ${describe(v)}`)
  return v.data as Storage
}

function rebuildTensor(args: PyValue[]): PyValue {
  if (args.length < 4) throw new Error(`expects at least 4 arguments, got ${args.length}`)
  const storage = storageOf(args[0])
  const offset = args[1]
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0)
    throw new Error(`storage offset must be a non-negative integer, found ${describe(args[1])}`)
  const shape = intList(args[2], 'size')
  const stride = intList(args[3], 'stride')
  if (shape.length !== stride.length) throw new Error(`size and stride differ in length`)
  const ref: TensorRef = { storage, offset, shape, stride }
  // The last element the view touches must lie inside the storage.
  const last = shape.some((d) => d === 0) ? -1 : offset + shape.reduce((a, d, i) => a + (d - 1) * stride[i], 0)
  if (last >= storage.numel)
    throw new Error(`a tensor of size (${shape}) reaches element ${last} of a ${storage.numel}-element storage`)
  return new PyObject('tensor', ref)
}

/** What a state-dict pickle may use, and nothing else. */
function torchGlobals(): Record<string, ((args: PyValue[]) => PyValue) | null> {
  const globals: Record<string, ((args: PyValue[]) => PyValue) | null> = {
    'collections.OrderedDict': (args) => {
      if (args.length) throw new Error('OrderedDict with arguments is not a state dict')
      return new Map()
    },
    'torch._utils._rebuild_tensor_v2': rebuildTensor,
    'torch._utils._rebuild_tensor': rebuildTensor,
    // A Parameter is its tensor for reading weights.
    'torch._utils._rebuild_parameter': (args) => {
      const t = args[0]
      if (!(t instanceof PyObject) || t.tag !== 'tensor') throw new Error(`expects a tensor, found ${describe(t ?? null)}`)
      return t
    },
    'torch._utils._rebuild_parameter_with_state': (args) => {
      const t = args[0]
      if (!(t instanceof PyObject) || t.tag !== 'tensor') throw new Error(`expects a tensor, found ${describe(t ?? null)}`)
      return t
    }
  }
  for (const name of Object.keys(STORAGE_TYPES)) globals[`torch.${name}`] = null
  return globals
}

/** The persistent id of a storage: ('storage', type, key, location, numel[, view_metadata]). */
function persistentLoad(storages: Map<string, Storage>) {
  return (pid: PyValue): PyValue => {
    if (!Array.isArray(pid) || asText(pid[0] ?? null) !== 'storage' || pid.length < 5)
      throw new Error(`unsupported persistent id ${describe(pid)}`)
    const type = pid[1]
    const info = type instanceof PyGlobal ? STORAGE_TYPES[type.name] : undefined
    if (!info) throw new Error(`unsupported storage type ${describe(type ?? null)}`)
    const key = asText(pid[2])
    const numel = pid[4]
    if (key === undefined || !/^[\w.-]{1,64}$/.test(key)) throw new Error(`bad storage key ${describe(pid[2])}`)
    if (typeof numel !== 'number' || !Number.isInteger(numel) || numel < 0)
      throw new Error(`bad storage size ${describe(pid[4])}`)
    let root = storages.get(key)
    if (!root) {
      root = { key, dtype: info.dtype, itemsize: info.itemsize, numel, viewOffset: 0 }
      storages.set(key, root)
    } else if (root.dtype !== info.dtype) {
      throw new Error(`storage ${key} is used as ${root.dtype} and ${info.dtype}`)
    }
    const view = pid[5]
    if (Array.isArray(view) && view.length >= 3) {
      // Legacy storage views: (view key, offset, size) into the root storage.
      const [, off, size] = view
      if (typeof off !== 'number' || typeof size !== 'number' || off + size > root.numel)
        throw new Error(`storage view ${describe(view)} leaves its storage`)
      return new PyObject('storage', { ...root, numel: size, viewOffset: off })
    }
    return new PyObject('storage', root)
  }
}

/** name -> tensor reference: the state dict (or a checkpoint's `state_dict` / `model` entry). */
function stateDictOf(value: PyValue, file: string): Map<string, TensorRef> {
  let dict = value
  if (dict instanceof Map && ![...dict.values()].some((v) => v instanceof PyObject)) {
    const inner = dict.get('state_dict') ?? dict.get('model')
    if (inner instanceof Map) dict = inner
  }
  if (!(dict instanceof Map)) throw new PthError(`${file} holds ${describe(value)}, not a state dict`)
  const out = new Map<string, TensorRef>()
  for (const [k, v] of dict) {
    if (typeof k !== 'string') throw new PthError(`${file}: a state dict key is ${describe(k)}`)
    if (!(v instanceof PyObject) || v.tag !== 'tensor')
      throw new PthError(`${file}: '${k}' is ${describe(v)}, not a tensor`)
    out.set(k, v.data as TensorRef)
  }
  if (out.size === 0) throw new PthError(`${file} holds no tensors`)
  return out
}

/** Opens a regular file for reading; anything else (FIFO, device, folder) is refused before it is opened. */
async function openRegular(path: string): Promise<{ handle: FileHandle; size: number }> {
  const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new PthError(err.code === 'ENOENT' ? `${path} does not exist` : `${path}: ${err.message}`)
  })
  if (!st.isFile()) throw new PthError(`${path} is not a regular file`)
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK)
  const again = await handle.stat()
  if (!again.isFile()) {
    await handle.close()
    throw new PthError(`${path} is not a regular file`)
  }
  return { handle, size: again.size }
}

async function readAt(handle: FileHandle, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length)
  let done = 0
  while (done < length) {
    const { bytesRead } = await handle.read(buf, done, length - done, offset + done)
    if (bytesRead === 0) throw new PthError(`the file ends before byte ${offset + length}`)
    done += bytesRead
  }
  return buf
}

// --- ZIP (stored entries, ZIP64) --------------------------------------------------------------------------

interface ZipEntry {
  name: string
  size: number
  /** File offset of the entry's data. */
  dataOffset: number
}

const MAX_PICKLE = 256 << 20

async function zipEntries(handle: FileHandle, size: number, file: string): Promise<Map<string, ZipEntry>> {
  const tailLength = Math.min(size, 65_557)
  const tail = await readAt(handle, size - tailLength, tailLength)
  let eocd = -1
  for (let i = tail.length - 22; i >= 0; i--) if (tail.readUInt32LE(i) === 0x06054b50) { eocd = i; break }
  if (eocd < 0) throw new PthError(`${file}: no ZIP end record (a truncated or damaged file)`)
  let count = tail.readUInt16LE(eocd + 10)
  let cdSize = tail.readUInt32LE(eocd + 12)
  let cdOffset = tail.readUInt32LE(eocd + 16)
  if (cdOffset === 0xffffffff || count === 0xffff || cdSize === 0xffffffff) {
    const loc = eocd - 20
    if (loc < 0 || tail.readUInt32LE(loc) !== 0x07064b50) throw new PthError(`${file}: ZIP64 locator missing`)
    const z64At = Number(tail.readBigUInt64LE(loc + 8))
    const z64 = await readAt(handle, z64At, 56)
    if (z64.readUInt32LE(0) !== 0x06064b50) throw new PthError(`${file}: ZIP64 end record missing`)
    count = Number(z64.readBigUInt64LE(32))
    cdSize = Number(z64.readBigUInt64LE(40))
    cdOffset = Number(z64.readBigUInt64LE(48))
  }
  if (cdOffset + cdSize > size || cdSize > 64 << 20) throw new PthError(`${file}: ZIP directory outside the file`)
  const cd = await readAt(handle, cdOffset, cdSize)
  const entries = new Map<string, ZipEntry>()
  let p = 0
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== 0x02014b50) throw new PthError(`${file}: damaged ZIP directory`)
    const method = cd.readUInt16LE(p + 10)
    let compressed = cd.readUInt32LE(p + 20)
    let uncompressed = cd.readUInt32LE(p + 24)
    const nameLength = cd.readUInt16LE(p + 28)
    const extraLength = cd.readUInt16LE(p + 30)
    const commentLength = cd.readUInt16LE(p + 32)
    let local = cd.readUInt32LE(p + 42)
    const name = cd.subarray(p + 46, p + 46 + nameLength).toString('utf8')
    // ZIP64 extra field: the sizes and offset that did not fit, in this order.
    let e = p + 46 + nameLength
    const extraEnd = e + extraLength
    while (e + 4 <= extraEnd) {
      const id = cd.readUInt16LE(e)
      const len = cd.readUInt16LE(e + 2)
      if (id === 0x0001) {
        let q = e + 4
        if (uncompressed === 0xffffffff) { uncompressed = Number(cd.readBigUInt64LE(q)); q += 8 }
        if (compressed === 0xffffffff) { compressed = Number(cd.readBigUInt64LE(q)); q += 8 }
        if (local === 0xffffffff) local = Number(cd.readBigUInt64LE(q))
      }
      e += 4 + len
    }
    if (method !== 0) throw new PthError(`${file}: ZIP entry ${name} is compressed (PyTorch stores entries uncompressed)`)
    if (compressed !== uncompressed) throw new PthError(`${file}: ZIP entry ${name} has inconsistent sizes`)
    const header = await readAt(handle, local, 30)
    if (header.readUInt32LE(0) !== 0x04034b50) throw new PthError(`${file}: ZIP entry ${name} has no local header`)
    const dataOffset = local + 30 + header.readUInt16LE(26) + header.readUInt16LE(28)
    if (dataOffset + uncompressed > size) throw new PthError(`${file}: ZIP entry ${name} runs past the end of the file`)
    entries.set(name, { name, size: uncompressed, dataOffset })
    p = extraEnd + commentLength
  }
  return entries
}

async function readZip(handle: FileHandle, size: number, file: string): Promise<{ refs: Map<string, TensorRef>; storages: Map<string, Storage> }> {
  const entries = await zipEntries(handle, size, file)
  const pkl = [...entries.values()].find((e) => /^[^/]+\/data\.pkl$/.test(e.name))
  if (!pkl) throw new PthError(`${file} is a ZIP file without data.pkl: not a PyTorch file`)
  const prefix = pkl.name.slice(0, -'data.pkl'.length)
  const order = entries.get(`${prefix}byteorder`)
  if (order && (await readAt(handle, order.dataOffset, Math.min(order.size, 16))).toString() !== 'little')
    throw new PthError(`${file} was written on a big-endian machine, which is not supported`)
  if (pkl.size > MAX_PICKLE) throw new PthError(`${file}: data.pkl is ${pkl.size} bytes, more than a state dict's structure`)
  const storages = new Map<string, Storage>()
  const value = unpickleTorch(await readAt(handle, pkl.dataOffset, pkl.size), 0, storages, file).value
  for (const s of storages.values()) {
    const entry = entries.get(`${prefix}data/${s.key}`)
    if (!entry) throw new PthError(`${file}: storage ${s.key} is missing from the archive`)
    if (entry.size < s.numel * s.itemsize)
      throw new PthError(`${file}: storage ${s.key} holds ${entry.size} bytes, its ${s.numel} ${s.dtype} need ${s.numel * s.itemsize}`)
    s.fileOffset = entry.dataOffset
    s.rootNumel = s.numel
  }
  return { refs: stateDictOf(value, file), storages }
}

function unpickleTorch(buf: Uint8Array, start: number, storages: Map<string, Storage>, file: string) {
  try {
    return unpickle(buf, start, { globals: torchGlobals(), persistentLoad: persistentLoad(storages) })
  } catch (err) {
    if (err instanceof PickleError) throw new PthError(`${file}: ${err.message}`)
    throw err
  }
}

// --- legacy -----------------------------------------------------------------------------------------------

/** The legacy format's first pickle: PROTO 2, LONG1 of 10 bytes 0x1950a86a20f9469cfc6c (little-endian), STOP. */
function isLegacyMagic(head: Buffer): boolean {
  const magic = Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e])
  return head.length >= magic.length && head.subarray(0, magic.length).equals(magic)
}

async function readLegacy(handle: FileHandle, size: number, file: string): Promise<{ refs: Map<string, TensorRef>; storages: Map<string, Storage> }> {
  // The pickles come first and are small; read a window that grows until they all parse.
  let windowSize = Math.min(size, 1 << 20)
  for (;;) {
    const buf = await readAt(handle, 0, windowSize)
    try {
      if (!isLegacyMagic(buf)) throw new PthError(`${file} is neither a ZIP nor a legacy PyTorch file (no magic number)`)
      let pos = 15
      const storages = new Map<string, Storage>()
      const protocol = unpickleTorch(buf, pos, storages, file)
      if (protocol.value !== 1001) throw new PthError(`${file}: legacy protocol ${describe(protocol.value)}, expected 1001`)
      const sysInfo = unpickleTorch(buf, protocol.end, storages, file)
      if (sysInfo.value instanceof Map && sysInfo.value.get('little_endian') === false)
        throw new PthError(`${file} was written on a big-endian machine, which is not supported`)
      const object = unpickleTorch(buf, sysInfo.end, storages, file)
      const keys = unpickleTorch(buf, object.end, storages, file)
      pos = keys.end
      if (!Array.isArray(keys.value)) throw new PthError(`${file}: storage key list is ${describe(keys.value)}`)
      // The storages follow in the list's order: an 8-byte element count, then the bytes.
      let at = pos
      for (const k of keys.value) {
        const key = asText(k)
        const s = key === undefined ? undefined : storages.get(key)
        if (!s) throw new PthError(`${file}: storage ${describe(k)} is listed but never used`)
        if (at + 8 > size) throw new PthError(`${file} ends inside storage ${key}'s header (truncated)`)
        const numel = Number((await readAt(handle, at, 8)).readBigUInt64LE(0))
        if (numel < s.numel) throw new PthError(`${file}: storage ${key} holds ${numel} elements, its tensors need ${s.numel}`)
        const bytes = numel * s.itemsize
        if (at + 8 + bytes > size)
          throw new PthError(`${file} ends inside storage ${key} (it declares ${bytes} bytes; truncated)`)
        s.fileOffset = at + 8
        s.rootNumel = numel
        at += 8 + bytes
      }
      for (const s of storages.values())
        if (s.fileOffset === undefined) throw new PthError(`${file}: storage ${s.key} is not in the file`)
      const refs = stateDictOf(object.value, file)
      // Views share their root's place in the file.
      for (const ref of refs.values()) {
        const root = storages.get(ref.storage.key)!
        ref.storage = { ...ref.storage, fileOffset: root.fileOffset, rootNumel: root.rootNumel }
      }
      return { refs, storages }
    } catch (err) {
      const truncated = err instanceof PthError && /truncated file/.test(err.message)
      if (truncated && windowSize < size && windowSize < MAX_PICKLE) {
        windowSize = Math.min(size, windowSize * 4)
        continue
      }
      throw err
    }
  }
}

// --- public API -------------------------------------------------------------------------------------------

async function readRefs(path: string) {
  const { handle, size } = await openRegular(path)
  try {
    if (size < 22) throw new PthError(`${path} is ${size} bytes: not a PyTorch file`)
    const head = await readAt(handle, 0, Math.min(size, 16))
    const zip = head.readUInt32LE(0) === 0x04034b50
    const read = zip ? await readZip(handle, size, path) : await readLegacy(handle, size, path)
    return { handle, format: zip ? ('zip' as const) : ('legacy' as const), ...read }
  } catch (err) {
    await handle.close()
    throw err
  }
}

/** Tensor names, shapes and dtypes, without reading any tensor data (the base check in the wizard). */
export async function readPthStructure(path: string): Promise<PthStructure> {
  const { handle, format, refs, storages } = await readRefs(path)
  await handle.close()
  const tensors = new Map<string, { shape: number[]; dtype: PthDtype }>()
  for (const [name, ref] of refs) tensors.set(name, { shape: ref.shape, dtype: ref.storage.dtype })
  let dataBytes = 0
  for (const s of storages.values()) dataBytes += s.numel * s.itemsize
  return { format, tensors, dataBytes }
}

/** Every tensor of a state dict, as contiguous float32 (what torchvisionFromStateDict takes). */
export async function readPth(path: string): Promise<Map<string, PthTensor>> {
  const { handle, refs } = await readRefs(path)
  try {
    const out = new Map<string, PthTensor>()
    // Storages shared by several tensors are read once.
    const cache = new Map<string, Buffer>()
    for (const [name, ref] of refs) {
      const s = ref.storage
      const count = ref.shape.reduce((a, b) => a * b, 1)
      const first = s.viewOffset + ref.offset
      const contiguous = isContiguous(ref.shape, ref.stride)
      let bytes: Buffer
      let base: number
      if (contiguous && !cache.has(s.key)) {
        bytes = count ? await readAt(handle, s.fileOffset! + first * s.itemsize, count * s.itemsize) : Buffer.alloc(0)
        base = 0
      } else {
        let whole = cache.get(s.key)
        if (!whole) {
          whole = await readAt(handle, s.fileOffset!, s.rootNumel! * s.itemsize)
          cache.set(s.key, whole)
        }
        bytes = whole
        base = first
      }
      out.set(name, { shape: ref.shape, dtype: s.dtype, data: gather(bytes, base, ref.shape, contiguous ? contiguousStride(ref.shape) : ref.stride, s.dtype) })
    }
    return out
  } finally {
    await handle.close()
  }
}

function contiguousStride(shape: number[]): number[] {
  const stride = new Array<number>(shape.length)
  let n = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    stride[i] = n
    n *= shape[i]
  }
  return stride
}

function isContiguous(shape: number[], stride: number[]): boolean {
  const want = contiguousStride(shape)
  return shape.every((d, i) => d === 1 || stride[i] === want[i])
}

/** Element `index` of `bytes` (little-endian `dtype`) as a number. */
function reader(bytes: Buffer, dtype: PthDtype): (index: number) => number {
  switch (dtype) {
    case 'float32':
      return (i) => bytes.readFloatLE(i * 4)
    case 'float64':
      return (i) => bytes.readDoubleLE(i * 8)
    case 'float16':
      return (i) => halfToFloat(bytes.readUInt16LE(i * 2))
    case 'bfloat16': {
      const f = new Float32Array(1)
      const u = new Uint32Array(f.buffer)
      return (i) => {
        u[0] = bytes.readUInt16LE(i * 2) << 16
        return f[0]
      }
    }
    case 'int64':
      return (i) => Number(bytes.readBigInt64LE(i * 8))
    case 'int32':
      return (i) => bytes.readInt32LE(i * 4)
    case 'int16':
      return (i) => bytes.readInt16LE(i * 2)
    case 'int8':
      return (i) => bytes.readInt8(i)
    case 'uint8':
    case 'bool':
      return (i) => bytes[i]
  }
}

function gather(bytes: Buffer, base: number, shape: number[], stride: number[], dtype: PthDtype): Float32Array {
  const count = shape.reduce((a, b) => a * b, 1)
  const out = new Float32Array(count)
  if (count === 0) return out
  if (dtype === 'float32' && base === 0 && stride.every((s, i) => s === contiguousStride(shape)[i])) {
    // The common case: one copy of the bytes (a Buffer's offset is not always 4-aligned).
    new Uint8Array(out.buffer).set(bytes.subarray(0, count * 4))
    return out
  }
  const at = reader(bytes, dtype)
  const rank = shape.length
  const index = new Array<number>(rank).fill(0)
  let src = base
  for (let n = 0; n < count; n++) {
    out[n] = at(src)
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++
      src += stride[d]
      if (index[d] < shape[d]) break
      src -= stride[d] * shape[d]
      index[d] = 0
    }
  }
  return out
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1
  const exp = (h >> 10) & 0x1f
  const frac = h & 0x3ff
  if (exp === 0) return sign * frac * 2 ** -24
  if (exp === 31) return frac ? NaN : sign * Infinity
  return sign * (1 + frac / 1024) * 2 ** (exp - 15)
}
