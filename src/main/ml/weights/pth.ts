// PyTorch weight files (`torch.save(model.state_dict(), f)`, torchvision's downloads), read natively and
// without executing anything from the file. Both of PyTorch's formats:
//   zip (the default since 1.6): a ZIP of stored entries, `<archive>/data.pkl` (the object pickle),
//     `<archive>/data/<key>` (one entry per storage), `<archive>/byteorder`, `<archive>/version`;
//   legacy (`_use_new_zipfile_serialization=False`, and older torchvision files): five pickles in a row
//     (the magic number 0x1950a86a20f9469cfc6c, the protocol version 1001, the system info, the object, the
//     list of storage keys), then each storage in that order as an 8-byte little-endian element count and
//     its raw bytes.
// The object pickle goes through pickle.ts, the studio's pickle reader, which calls nothing: it allows exactly
// what a state dict needs (collections.OrderedDict; torch._utils._rebuild_tensor_v2/_v3 and
// _rebuild_parameter; the storage types, torch.storage.UntypedStorage and the dtypes such as torch.float32
// that persistent ids and _rebuild_tensor_v3 name) and refuses every other global (os.system, builtins.eval,
// a pickled nn.Module) by name. A checkpoint dict holding the state dict under 'state_dict' or 'model' is
// unwrapped.
//
// Tensors honour their storage offset, shape and strides (a transposed or sliced view becomes a contiguous,
// row-major copy). float32, float16, bfloat16 and float64 become Float32Array; integer and bool tensors
// (BatchNorm's num_batches_tracked) become Float32Array too, with their exact values in `int64`, so the map
// is a TorchStateDict that torchvisionFromStateDict takes as it is.
//
// Bounded: only regular files are read (a FIFO, a device, a symlink to /dev/zero is refused before it is
// opened, and again on the open handle); the pickles and the ZIP directory are read in bounded windows; every
// storage's declared size is checked against the file, and every tensor against its storage, before any
// tensor data is read; then each tensor is read with one positioned read of just the bytes it spans, into
// its output array when it is contiguous float32. `readPthStructure` stops before the data: names, shapes,
// dtypes and the bytes of data the file declares. Everything is async (fs/promises), for a worker.
import type { FileHandle } from 'node:fs/promises'
import { openRegularFile, SafeFileError, type RegularFile } from '../../fs/safeFile'
import { PickleError, PyGlobal, PyObject, asText, describe, unpickle, type PyValue } from './pickle'
import { ZipError, looksLikeZip, readZipDirectory, type ZipEntry, type ZipSource } from './zip'

export type PthDtype =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'bfloat16'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'int8'
  | 'uint8'
  | 'bool'

/** A tensor of the file as a contiguous row-major copy (a TorchTensor, plus its dtype). */
export interface PthTensor {
  shape: number[]
  /** The dtype in the file; `data` is float32 whatever it is. */
  dtype: PthDtype
  data: Float32Array
  /** Integer and bool tensors (num_batches_tracked): the exact values, which float32 rounds past 2^24. */
  int64?: BigInt64Array
}

export interface PthStructure {
  format: 'zip' | 'legacy'
  /** Tensor name -> shape and dtype, in the file's order. */
  tensors: Map<string, { shape: number[]; dtype: PthDtype }>
  /** Bytes of tensor data (storages) the file declares, each storage counted once. */
  dataBytes: number
}

export type PthErrorCode =
  /** The path is missing, or names a folder, FIFO, device or the like. */
  | 'not-a-file'
  /** Neither of PyTorch's formats (no ZIP with data.pkl, no legacy magic number). */
  | 'not-pytorch'
  /** The file ends before what it declares: a pickle, the ZIP directory, a storage. */
  | 'truncated'
  /** The pickle names a Python global that a state dict never needs; nothing was run. */
  | 'refused'
  /** A valid PyTorch file this reader does not handle (big-endian, compressed, a dtype, the tar format). */
  | 'unsupported'
  /** Inconsistent structure: a tensor outside its storage, a damaged ZIP directory, a malformed pickle. */
  | 'damaged'
  /** The file holds something other than a dict of tensors. */
  | 'not-a-state-dict'

/** A .pth file we refuse to read: `code` for callers (and i18n), the message in words, naming the file. */
export class PthError extends Error {
  override name = 'PthError'
  constructor(
    readonly code: PthErrorCode,
    message: string,
    readonly path?: string
  ) {
    super(message)
  }
}

const ITEMSIZE: Record<PthDtype, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1
}

/** `torch.<Name>Storage` -> its element dtype. */
const STORAGE_TYPES: Record<string, PthDtype> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool'
}
/** Untyped storages (PyTorch 2's `torch.storage.UntypedStorage`): bytes, typed by the tensor (v3). */
const UNTYPED = new Set(['torch.UntypedStorage', 'torch.storage.UntypedStorage'])

/** The biggest pickle (data.pkl, or the legacy format's pickles together) read: a state dict's is KBs. */
const MAX_PICKLE = 64 << 20

/** Where a storage's bytes are, as the format's reader finds them. */
interface Storage {
  key: string
  /** The dtype its persistent id declares ('uint8' for an untyped storage). */
  dtype: PthDtype
  /** Bytes the persistent id declares. */
  bytes: number
  /** File offset of its first byte (set once the storage is located). */
  fileOffset: number
}

/** A tensor as the pickle describes it: a view into a storage, in elements of its own dtype. */
interface TensorRef {
  storage: Storage
  /** Legacy storage views: bytes into the root storage. */
  viewByteOffset: number
  /** Bytes the (view of the) storage holds. */
  viewBytes: number
  dtype: PthDtype
  offset: number
  shape: number[]
  stride: number[]
}

/** A storage, or a legacy view of one, as the pickle passes it around. */
interface StorageView {
  storage: Storage
  byteOffset: number
  bytes: number
}

const STORAGE_TAG = 'torch storage'
const TENSOR_TAG = 'torch tensor'

/** What a callback refused, with its code (pickle.ts turns a thrown error into a PickleError). */
class Refusal extends Error {
  constructor(
    readonly code: PthErrorCode,
    message: string
  ) {
    super(message)
  }
}

const isCount = (v: PyValue | undefined): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0

function counts(v: PyValue, what: string): number[] {
  if (!Array.isArray(v) || !v.every(isCount)) {
    throw new Refusal('damaged', `${what} must be a tuple of non-negative integers, found ${describe(v)}`)
  }
  return v as number[]
}

function dtypeOfGlobal(v: PyValue | undefined): PthDtype | undefined {
  if (!(v instanceof PyGlobal) || v.module !== 'torch') return undefined
  return Object.hasOwn(ITEMSIZE, v.name) ? (v.name as PthDtype) : undefined
}

/** _rebuild_tensor_v2(storage, offset, size, stride, ...) and v3 (..., requires_grad, hooks, dtype, ...). */
function rebuildTensor(version: 1 | 2 | 3) {
  return (args: PyValue[]): PyValue => {
    if (args.length < (version === 3 ? 7 : 4)) {
      throw new Refusal('damaged', `expects ${version === 3 ? 7 : 4} arguments, got ${args.length}`)
    }
    const sv = args[0]
    if (!(sv instanceof PyObject) || sv.tag !== STORAGE_TAG) {
      throw new Refusal('damaged', `expects a storage, found ${describe(args[0])}`)
    }
    const view = sv.data as StorageView
    let dtype = view.storage.dtype
    if (version === 3) {
      const d = dtypeOfGlobal(args[6])
      if (!d) throw new Refusal('unsupported', `unsupported tensor dtype ${describe(args[6])}`)
      dtype = d
    }
    if (!isCount(args[1])) {
      throw new Refusal('damaged', `storage offset must be a non-negative integer, found ${describe(args[1])}`)
    }
    const shape = counts(args[2], 'size')
    const stride = counts(args[3], 'stride')
    if (shape.length !== stride.length) {
      throw new Refusal('damaged', `size (${shape.join(', ')}) and stride (${stride.join(', ')}) differ in rank`)
    }
    const ref: TensorRef = {
      storage: view.storage,
      viewByteOffset: view.byteOffset,
      viewBytes: view.bytes,
      dtype,
      offset: args[1],
      shape,
      stride
    }
    // Every element the view reaches must lie inside the storage.
    const [, last] = span(ref)
    const need = (last + 1) * ITEMSIZE[dtype]
    if (numel(shape) > 0 && need > view.bytes) {
      throw new Refusal(
        'damaged',
        `a ${dtype} tensor of size (${shape.join(', ')}), stride (${stride.join(', ')}) and offset ` +
          `${ref.offset} reaches byte ${need} of a storage of ${view.bytes} bytes`
      )
    }
    return new PyObject(TENSOR_TAG, ref)
  }
}

/** A Parameter is its tensor, for reading weights. */
function rebuildParameter(args: PyValue[]): PyValue {
  const t = args[0]
  if (!(t instanceof PyObject) || t.tag !== TENSOR_TAG) {
    throw new Refusal('damaged', `expects a tensor, found ${describe(t ?? null)}`)
  }
  return t
}

/** The globals a state dict's pickle may name; every other one is refused by pickle.ts. */
function torchGlobals(): Record<string, ((args: PyValue[]) => PyValue) | null> {
  const globals: Record<string, ((args: PyValue[]) => PyValue) | null> = {
    'collections.OrderedDict': (args) => {
      if (args.length && !(Array.isArray(args[0]) && args[0].length === 0)) {
        throw new Refusal('not-a-state-dict', 'OrderedDict with initial items is not how a state dict is saved')
      }
      return new Map()
    },
    'torch._utils._rebuild_tensor': rebuildTensor(1),
    'torch._utils._rebuild_tensor_v2': rebuildTensor(2),
    'torch._utils._rebuild_tensor_v3': rebuildTensor(3),
    'torch._utils._rebuild_parameter': rebuildParameter,
    'torch._utils._rebuild_parameter_with_state': rebuildParameter
  }
  for (const name of Object.keys(STORAGE_TYPES)) globals[`torch.${name}`] = null
  for (const name of UNTYPED) globals[name] = null
  for (const name of Object.keys(ITEMSIZE)) globals[`torch.${name}`] = null
  return globals
}

/**
 * The persistent id of a storage, ('storage', storage type, key, location, numel) and in the legacy format a
 * sixth item, None or a view (view key, offset, size) into the root storage. The first use of a key makes its
 * Storage; later uses must agree with it.
 */
function persistentLoad(storages: Map<string, Storage>) {
  return (pid: PyValue): PyValue => {
    if (!Array.isArray(pid) || pid.length < 5 || asText(pid[0]) !== 'storage') {
      throw new Refusal('unsupported', `unsupported persistent id ${describe(pid)} (not a storage)`)
    }
    const type = pid[1]
    const typeName = type instanceof PyGlobal ? `${type.module}.${type.name}` : ''
    const dtype: PthDtype | undefined = UNTYPED.has(typeName)
      ? 'uint8'
      : type instanceof PyGlobal && type.module === 'torch' && Object.hasOwn(STORAGE_TYPES, type.name)
        ? STORAGE_TYPES[type.name]
        : undefined
    if (!dtype) throw new Refusal('unsupported', `unsupported storage type ${describe(type)}`)
    const key = asText(pid[2])
    if (key === undefined || !/^[\w.-]{1,64}$/.test(key)) {
      throw new Refusal('damaged', `bad storage key ${describe(pid[2])}`)
    }
    const n = pid[4]
    if (!isCount(n)) throw new Refusal('damaged', `storage ${key}: bad element count ${describe(n)}`)
    const itemsize = ITEMSIZE[dtype]
    let storage = storages.get(key)
    if (!storage) {
      storage = { key, dtype, bytes: n * itemsize, fileOffset: -1 }
      storages.set(key, storage)
    } else if (storage.dtype !== dtype || storage.bytes !== n * itemsize) {
      throw new Refusal(
        'damaged',
        `storage ${key} is declared as ${n} ${dtype} and as ${storage.bytes / ITEMSIZE[storage.dtype]} ` +
          storage.dtype
      )
    }
    const view = pid[5]
    if (Array.isArray(view)) {
      const [, off, size] = view
      if (view.length < 3 || !isCount(off) || !isCount(size) || (off + size) * itemsize > storage.bytes) {
        throw new Refusal('damaged', `storage view ${describe(view)} leaves storage ${key}`)
      }
      return new PyObject(STORAGE_TAG, { storage, byteOffset: off * itemsize, bytes: size * itemsize })
    }
    return new PyObject(STORAGE_TAG, { storage, byteOffset: 0, bytes: storage.bytes } satisfies StorageView)
  }
}

/** Runs pickle.ts on a torch pickle; its errors become PthErrors (`truncated` says the buffer ended). */
function unpickleTorch(
  buf: Uint8Array,
  start: number,
  storages: Map<string, Storage>,
  bad: Bad
): { value: PyValue; end: number } {
  let refusal: Refusal | undefined
  const guard =
    <A, R>(fn: (a: A) => R) =>
    (a: A): R => {
      try {
        return fn(a)
      } catch (err) {
        if (err instanceof Refusal) refusal = err
        throw err
      }
    }
  const globals = Object.fromEntries(
    Object.entries(torchGlobals()).map(([k, fn]) => [k, fn && guard(fn)])
  ) as ReturnType<typeof torchGlobals>
  try {
    return unpickle(buf, start, { globals, persistentLoad: guard(persistentLoad(storages)) })
  } catch (err) {
    if (!(err instanceof PickleError)) throw err
    if (refusal) return bad(refusal.code, err.message)
    if (/refusing to load/.test(err.message)) {
      const name = /global '([^']+)'/.exec(err.message)?.[1] ?? ''
      const hint = /^(torch|torchvision|__main__)\./.test(name)
        ? ' (this looks like a whole pickled model: save and load model.state_dict() instead)'
        : ''
      return bad('refused', err.message + hint)
    }
    return bad(/truncated file/.test(err.message) ? 'truncated' : 'damaged', err.message)
  }
}

type Bad = (code: PthErrorCode, msg: string) => never

/** name -> tensor: the state dict itself, or a checkpoint's 'state_dict' / 'model' entry. */
function stateDictOf(value: PyValue, bad: Bad): Map<string, TensorRef> {
  let dict = value
  if (dict instanceof Map && ![...dict.values()].some((v) => v instanceof PyObject)) {
    for (const key of ['state_dict', 'model', 'model_state_dict']) {
      const inner = dict.get(key)
      if (inner instanceof Map) {
        dict = inner
        break
      }
    }
  }
  if (!(dict instanceof Map)) {
    return bad('not-a-state-dict', `holds ${describe(value)}, not a state dict (a dict of tensors)`)
  }
  const out = new Map<string, TensorRef>()
  for (const [k, v] of dict) {
    if (typeof k !== 'string') return bad('not-a-state-dict', `a state dict key is ${describe(k)}`)
    if (!(v instanceof PyObject) || v.tag !== TENSOR_TAG) {
      return bad('not-a-state-dict', `'${k}' is ${describe(v)}, not a tensor`)
    }
    out.set(k, v.data as TensorRef)
  }
  if (out.size === 0) {
    return bad('not-a-state-dict', 'holds no tensors (an empty dict, or a checkpoint without a state dict)')
  }
  return out
}

// --- files --------------------------------------------------------------------------------------------------

interface OpenFile extends ZipSource {
  handle: FileHandle
  path: string
}

/**
 * Opens a regular file for reading, through fs/safeFile: anything else is refused before it is opened (a FIFO
 * would block the open, /dev/zero never ends), and the handle is checked again, opened non-blocking, in case
 * the path was swapped in between.
 */
async function openRegular(path: string): Promise<OpenFile> {
  let file: RegularFile
  try {
    file = await openRegularFile(path, { what: 'PyTorch weights file' })
  } catch (err) {
    if (err instanceof SafeFileError) throw new PthError('not-a-file', err.message, path)
    throw err
  }
  const { handle, size } = file
  return {
    handle,
    path,
    size,
    async read(offset, length) {
      return readInto(handle, new Uint8Array(length), offset, size, path)
    }
  }
}

/** Fills `out` from `offset`; a file that ends first (it shrank since it was checked) is an error. */
async function readInto(
  handle: FileHandle,
  out: Uint8Array,
  offset: number,
  size: number,
  path: string
): Promise<Uint8Array> {
  if (offset + out.length > size) {
    throw new PthError(
      'truncated',
      `${path}: needs bytes up to ${offset + out.length} but the file has ${size} (truncated)`,
      path
    )
  }
  let done = 0
  while (done < out.length) {
    const { bytesRead } = await handle.read(out, done, out.length - done, offset + done)
    if (bytesRead === 0) {
      throw new PthError('truncated', `${path}: the file ended at byte ${offset + done} while being read`, path)
    }
    done += bytesRead
  }
  return out
}

// --- the zip format -----------------------------------------------------------------------------------------

interface Parsed {
  format: 'zip' | 'legacy'
  refs: Map<string, TensorRef>
  storages: Map<string, Storage>
}

async function readZip(file: OpenFile, bad: Bad): Promise<Parsed> {
  let entries: Map<string, ZipEntry>
  try {
    entries = await readZipDirectory(file)
  } catch (err) {
    if (!(err instanceof ZipError)) throw err
    const truncated = err.code === 'no-end-record' || /past the end/.test(err.message)
    return bad(truncated ? 'truncated' : err.code === 'unsupported' ? 'unsupported' : 'damaged', err.message)
  }
  const pkl = [...entries.values()].find((e) => /^[^/]+\/data\.pkl$/.test(e.name))
  if (!pkl) return bad('not-pytorch', 'a ZIP archive without <archive>/data.pkl: not a PyTorch file')
  const prefix = pkl.name.slice(0, -'data.pkl'.length)
  const order = entries.get(`${prefix}byteorder`)
  if (order) {
    const text = Buffer.from(await file.read(order.dataOffset, Math.min(order.size, 16))).toString('latin1')
    if (text.trim() !== 'little') {
      return bad('unsupported', `written on a ${text.trim()}-endian machine; only little-endian files are read`)
    }
  }
  if (pkl.size > MAX_PICKLE) {
    return bad('unsupported', `data.pkl is ${pkl.size} bytes, far more than a state dict's structure`)
  }
  const storages = new Map<string, Storage>()
  const value = unpickleTorch(await file.read(pkl.dataOffset, pkl.size), 0, storages, bad).value
  for (const s of storages.values()) {
    const entry = entries.get(`${prefix}data/${s.key}`)
    if (!entry) return bad('damaged', `storage ${s.key} is missing from the archive (${prefix}data/${s.key})`)
    if (entry.size < s.bytes) {
      return bad('damaged', `storage ${s.key} holds ${entry.size} bytes, but its tensors declare ${s.bytes}`)
    }
    s.fileOffset = entry.dataOffset
  }
  return { format: 'zip', refs: stateDictOf(value, bad), storages }
}

// --- the legacy format --------------------------------------------------------------------------------------

/** The little-endian bytes of 0x1950a86a20f9469cfc6c, as LONG1 writes them. */
const MAGIC = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]

/**
 * End of the legacy format's first pickle (PROTO 2-5, an optional FRAME, LONG1 of the magic number, STOP), or
 * -1 when the file does not start with it. pickle.ts refuses integers past 2^53, so it is matched as bytes.
 */
function legacyMagicEnd(b: Uint8Array): number {
  if (b.length < 2 || b[0] !== 0x80 || b[1] < 2 || b[1] > 5) return -1
  let p = 2
  if (b[p] === 0x95) p += 9
  if (b[p] !== 0x8a || b[p + 1] !== 10) return -1
  p += 2
  for (let i = 0; i < 10; i++) if (b[p + i] !== MAGIC[i]) return -1
  return b[p + 10] === 0x2e ? p + 11 : -1
}

async function readLegacy(file: OpenFile, bad: Bad): Promise<Parsed> {
  const size = file.size
  // The pickles come first and are small: read a window, larger until they all fit.
  let window = Math.min(size, 1 << 20)
  let parsed: { object: PyValue; keys: PyValue; end: number; storages: Map<string, Storage> }
  for (;;) {
    const buf = await file.read(0, window)
    const start = legacyMagicEnd(buf)
    if (start < 0) return bad('not-pytorch', notPytorchHint(buf))
    try {
      const storages = new Map<string, Storage>()
      const protocol = unpickleTorch(buf, start, storages, bad)
      if (protocol.value !== 1001) {
        return bad('unsupported', `legacy protocol version ${describe(protocol.value)}; this reader knows 1001`)
      }
      const sysInfo = unpickleTorch(buf, protocol.end, storages, bad)
      if (sysInfo.value instanceof Map && sysInfo.value.get('little_endian') === false) {
        return bad('unsupported', 'written on a big-endian machine; only little-endian files are read')
      }
      const object = unpickleTorch(buf, sysInfo.end, storages, bad)
      const keys = unpickleTorch(buf, object.end, storages, bad)
      parsed = { object: object.value, keys: keys.value, end: keys.end, storages }
      break
    } catch (err) {
      if (!(err instanceof PthError) || err.code !== 'truncated' || window >= size) throw err
      if (window >= MAX_PICKLE) {
        return bad('unsupported', `the pickles pass ${MAX_PICKLE} bytes, far more than a state dict's structure`)
      }
      window = Math.min(size, window * 4, MAX_PICKLE)
    }
  }
  const { storages, keys } = parsed
  if (!Array.isArray(keys)) return bad('damaged', `the storage key list is ${describe(keys)}`)
  // The storages follow in the list's order, each an 8-byte element count and its bytes.
  let at = parsed.end
  for (const k of keys) {
    const key = asText(k)
    const s = key === undefined ? undefined : storages.get(key)
    if (!s) return bad('damaged', `storage ${describe(k)} is listed but no tensor uses it`)
    if (s.fileOffset >= 0) return bad('damaged', `storage ${key} is listed twice`)
    if (at + 8 > size) {
      return bad('truncated', `the file ends at byte ${size}, inside storage ${key}'s header (truncated)`)
    }
    const count = new DataView((await file.read(at, 8)).buffer).getBigUint64(0, true)
    const bytes = count * BigInt(ITEMSIZE[s.dtype])
    if (BigInt(at + 8) + bytes > BigInt(size)) {
      return bad(
        'truncated',
        `storage ${key} at byte ${at} declares ${bytes} bytes; the file has ${size - at - 8} after it (truncated)`
      )
    }
    if (Number(bytes) < s.bytes) {
      return bad('damaged', `storage ${key} holds ${bytes} bytes, but its tensors declare ${s.bytes}`)
    }
    s.fileOffset = at + 8
    at += 8 + Number(bytes)
  }
  for (const s of storages.values()) {
    if (s.fileOffset < 0) return bad('damaged', `storage ${s.key} is used but not in the file's list`)
  }
  return { format: 'legacy', refs: stateDictOf(parsed.object, bad), storages }
}

function notPytorchHint(head: Uint8Array): string {
  if (head.length >= 262 && Buffer.from(head.subarray(257, 262)).toString('latin1') === 'ustar') {
    return "PyTorch's tar format (before 0.1.10) is not supported; load and re-save the file with a newer PyTorch"
  }
  if (head[0] === 0x93 && head[1] === 0x4e) return 'an NPY file (numpy), not a PyTorch file'
  if (head[0] === 0x80) return 'a Python pickle without the PyTorch magic number: not a PyTorch file'
  if (head[0] === 0x08) return 'this looks like an ONNX model, not a PyTorch file'
  return 'neither a ZIP nor a legacy PyTorch file (no PyTorch magic number)'
}

// --- public API ---------------------------------------------------------------------------------------------

async function withParsed<T>(path: string, fn: (file: OpenFile, parsed: Parsed, bad: Bad) => Promise<T>) {
  const bad: Bad = (code, msg) => {
    throw new PthError(code, `${path}: ${msg}`, path)
  }
  const file = await openRegular(path)
  try {
    if (file.size < 16) return bad(file.size ? 'not-pytorch' : 'truncated', `${file.size} bytes: not a PyTorch file`)
    const head = await file.read(0, 16)
    const parsed = looksLikeZip(head) ? await readZip(file, bad) : await readLegacy(file, bad)
    return await fn(file, parsed, bad)
  } finally {
    await file.handle.close()
  }
}

/**
 * A state dict's tensor names, shapes and dtypes and the bytes of data it declares, without reading any tensor
 * data (the wizard's base check). The same checks as `readPth`, storage sizes included.
 */
export async function readPthStructure(path: string): Promise<PthStructure> {
  return withParsed(path, async (_file, { format, refs, storages }) => {
    const tensors = new Map<string, { shape: number[]; dtype: PthDtype }>()
    for (const [name, ref] of refs) tensors.set(name, { shape: [...ref.shape], dtype: ref.dtype })
    let dataBytes = 0
    for (const s of storages.values()) dataBytes += s.bytes
    return { format, tensors, dataBytes }
  })
}

/**
 * Every tensor of a state dict (or of a checkpoint's), in the file's order, as contiguous row-major float32:
 * a TorchStateDict, so `torchvisionFromStateDict(arch, await readPth(path))` works as it is.
 */
export async function readPth(path: string): Promise<Map<string, PthTensor>> {
  return withParsed(path, async (file, { refs }) => {
    const out = new Map<string, PthTensor>()
    for (const [name, ref] of refs) out.set(name, await readTensor(file, ref))
    return out
  })
}

// --- tensor data --------------------------------------------------------------------------------------------

const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1)

function rowMajor(shape: readonly number[]): number[] {
  const stride = new Array<number>(shape.length)
  for (let i = shape.length - 1, n = 1; i >= 0; i--) {
    stride[i] = n
    n *= shape[i]
  }
  return stride
}

/** The first and last storage elements a tensor reaches (strides are never negative in PyTorch). */
function span(ref: Pick<TensorRef, 'offset' | 'shape' | 'stride'>): [number, number] {
  return [ref.offset, ref.offset + ref.shape.reduce((a, d, i) => a + (d > 0 ? (d - 1) * ref.stride[i] : 0), 0)]
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/** One positioned read of the bytes the tensor spans, then a row-major copy in float32. */
async function readTensor(file: OpenFile, ref: TensorRef): Promise<PthTensor> {
  const n = numel(ref.shape)
  const itemsize = ITEMSIZE[ref.dtype]
  const result: PthTensor = { shape: [...ref.shape], dtype: ref.dtype, data: new Float32Array(n) }
  const integer = ref.dtype.startsWith('int') || ref.dtype === 'uint8' || ref.dtype === 'bool'
  if (integer) result.int64 = new BigInt64Array(n)
  if (n === 0) return result
  const [first, last] = span(ref)
  const at = ref.storage.fileOffset + ref.viewByteOffset + first * itemsize
  const dense = rowMajor(ref.shape)
  const contiguous = ref.shape.every((d, i) => d === 1 || ref.stride[i] === dense[i])
  if (contiguous && ref.dtype === 'float32' && LITTLE_ENDIAN_HOST) {
    // The common case: straight into the output, no copy.
    await readInto(file.handle, new Uint8Array(result.data.buffer), at, file.size, file.path)
    return result
  }
  const bytes = await file.read(at, (last - first + 1) * itemsize)
  const get = elementReader(bytes, ref.dtype)
  const strides = contiguous ? dense : ref.stride
  const rank = ref.shape.length
  const index = new Array<number>(rank).fill(0)
  const data = result.data
  const ints = result.int64
  let src = 0
  for (let i = 0; i < n; i++) {
    if (ints) {
      const v = get.int(src)
      ints[i] = v
      data[i] = Number(v)
    } else data[i] = get.float(src)
    // Advance the row-major index, keeping the matching storage element.
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++
      src += strides[d]
      if (index[d] < ref.shape[d]) break
      src -= strides[d] * ref.shape[d]
      index[d] = 0
    }
  }
  return result
}

/** Element `i` of little-endian `bytes` of `dtype`, as a float or (integer dtypes) a bigint. */
function elementReader(bytes: Uint8Array, dtype: PthDtype): { float: (i: number) => number; int: (i: number) => bigint } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const none = (): never => {
    throw new Error(`no ${dtype} reader`)
  }
  switch (dtype) {
    case 'float32':
      return { float: (i) => v.getFloat32(i * 4, true), int: none }
    case 'float64':
      return { float: (i) => v.getFloat64(i * 8, true), int: none }
    case 'float16': {
      const table = halfTable()
      return { float: (i) => table[v.getUint16(i * 2, true)], int: none }
    }
    case 'bfloat16': {
      const f = new Float32Array(1)
      const u = new Uint32Array(f.buffer)
      return {
        float: (i) => {
          u[0] = v.getUint16(i * 2, true) << 16
          return f[0]
        },
        int: none
      }
    }
    case 'int64':
      return { float: none, int: (i) => v.getBigInt64(i * 8, true) }
    case 'int32':
      return { float: none, int: (i) => BigInt(v.getInt32(i * 4, true)) }
    case 'int16':
      return { float: none, int: (i) => BigInt(v.getInt16(i * 2, true)) }
    case 'int8':
      return { float: none, int: (i) => BigInt(v.getInt8(i)) }
    case 'uint8':
      return { float: none, int: (i) => BigInt(v.getUint8(i)) }
    case 'bool':
      return { float: none, int: (i) => (v.getUint8(i) ? 1n : 0n) }
  }
}

let HALF: Float32Array | undefined

/** float16 bit pattern -> value, for all 65536 patterns (built on first use). */
function halfTable(): Float32Array {
  if (HALF) return HALF
  HALF = new Float32Array(65536)
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1
    const exp = (h >> 10) & 0x1f
    const frac = h & 0x3ff
    HALF[h] =
      exp === 0
        ? sign * frac * 2 ** -24
        : exp === 0x1f
          ? frac
            ? NaN
            : sign * Infinity
          : sign * (1 + frac / 1024) * 2 ** (exp - 15)
  }
  return HALF
}
