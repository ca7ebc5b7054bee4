// A tiny, non-executing pickle reader for numpy weight files (the body of an object-dtype NPY file).
//
// A real unpickler calls whatever GLOBAL the stream names, which makes loading an untrusted pickle the
// same as running it. This one only understands the handful of opcodes that numpy's `np.save` produces
// (Python 2 cPickle protocol 2, as in `bvlc-alexnet.npy`, and Python 3 protocols 2-5) and only five
// globals, each replaced by a data-only stand-in: numpy's `_reconstruct` and `ndarray` make an empty
// `NdArray` that BUILD fills, `_frombuffer` (protocol 5) makes a filled one, `numpy.dtype` makes an
// `NpDtype`, and `_codecs.encode` (how Python 3 writes bytes at protocol 2) turns latin-1 text back into
// bytes. Any other global is refused by name before anything else happens, and nothing is ever called.
//
// Array data is never copied here: `NdArray.raw` is a view into the caller's buffer, so reading a 233 MB
// file is one linear pass. Python 2 `str` (BINSTRING) is kept as `PyBytes`, because it is both the text of
// dict keys and the raw bytes of arrays; `asText` and `asBytes` read it either way, as Python 3 does with
// `encoding='latin1'`.
//
// A base check needs only the structure (names, shapes, dtypes), not the floats: `readPickleSkeleton` walks
// the opcodes of a pickle in a file with positioned reads and copies everything except the large byte
// payloads, which it replaces by a private SKIPPED opcode (length and file offset); `unpickle(skeleton, 0,
// { skeleton })` then rebuilds arrays without data (`NdArray.unreadAt`). Offsets in its messages are file
// offsets.

/** Python 2 `str` or Python 3 `bytes`: a view into the pickle buffer, never a copy. */
export class PyBytes {
  constructor(readonly bytes: Uint8Array) {}
}

/** A byte string left in the file by a shapes-only read: its length (-1 when unknown) and where it starts. */
export class PySkipped {
  constructor(
    readonly length: number,
    readonly offset: number
  ) {}
}

/** A global the pickle named and that we allow (see ALLOWED_GLOBALS); a marker, never a function. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly role: GlobalRole
  ) {}
}

type GlobalRole = 'reconstruct' | 'frombuffer' | 'ndarray' | 'dtype' | 'encode' | 'custom'

/** A numpy dtype as far as weight files need it: kind letter, item size and byte order. */
export class NpDtype {
  /** '<' little, '>' big, '|' not applicable, '=' native. */
  byteorder = '='
  constructor(
    /** numpy kind letter: 'f' float, 'i' int, 'u' unsigned, 'b' bool, 'O' object, ... */
    readonly kind: string,
    readonly itemsize: number
  ) {}

  /** e.g. '<f4', for messages. */
  get str(): string {
    return `${this.byteorder}${this.kind}${this.itemsize}`
  }
}

/** A numpy array rebuilt from a pickle or an NPY body. Exactly one of `raw` and `objects` is set. */
export class NdArray {
  shape: number[] = []
  dtype: NpDtype = new NpDtype('f', 4)
  /** Column-major data (numpy `is_fortran`); readers must reorder it. */
  fortranOrder = false
  /** Numeric data as stored (byte order per dtype), a view into the source buffer. */
  raw: Uint8Array | null = null
  /** Object arrays: the elements in C order. */
  objects: PyValue[] | null = null
  /** Shapes-only reads: numeric data left unread in the file at this offset (`raw` stays null). */
  unreadAt: number | null = null

  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1)
  }
}

/**
 * An object a caller's own global made (a PyTorch tensor or storage stand-in, see UnpickleOptions): data
 * only, tagged by what made it.
 */
export class PyObject {
  constructor(
    readonly tag: string,
    readonly data: unknown
  ) {}
}

export type PyKey = string | number | boolean | null
export type PyValue =
  | null
  | boolean
  | number
  | string
  | PyBytes
  | PyValue[]
  | Map<PyKey, PyValue>
  | NdArray
  | NpDtype
  | PyGlobal
  | PySkipped
  | PyObject

/** A pickle we refuse to read: malformed, truncated, or asking for something we do not allow. */
export class PickleError extends Error {
  constructor(
    message: string,
    /** Byte offset in the buffer where the problem was found. */
    readonly offset: number
  ) {
    super(message)
    this.name = 'PickleError'
  }
}

const ALLOWED_GLOBALS: Record<string, GlobalRole> = {
  'numpy.core.multiarray._reconstruct': 'reconstruct',
  'numpy._core.multiarray._reconstruct': 'reconstruct',
  'numpy.core.numeric._frombuffer': 'frombuffer',
  'numpy._core.numeric._frombuffer': 'frombuffer',
  'numpy.ndarray': 'ndarray',
  'numpy.dtype': 'dtype',
  '_codecs.encode': 'encode'
}

/** Opcode names for messages; also the list of what we implement. */
const OPCODES: Record<number, string> = {
  0x80: 'PROTO',
  0x95: 'FRAME',
  0x63: 'GLOBAL',
  0x93: 'STACK_GLOBAL',
  0x28: 'MARK',
  0x7d: 'EMPTY_DICT',
  0x64: 'DICT',
  0x5d: 'EMPTY_LIST',
  0x6c: 'LIST',
  0x61: 'APPEND',
  0x65: 'APPENDS',
  0x73: 'SETITEM',
  0x75: 'SETITEMS',
  0x74: 'TUPLE',
  0x29: 'EMPTY_TUPLE',
  0x85: 'TUPLE1',
  0x86: 'TUPLE2',
  0x87: 'TUPLE3',
  0x4a: 'BININT',
  0x4b: 'BININT1',
  0x4d: 'BININT2',
  0x8a: 'LONG1',
  0x47: 'BINFLOAT',
  0x4e: 'NONE',
  0x88: 'NEWTRUE',
  0x89: 'NEWFALSE',
  0x55: 'SHORT_BINSTRING',
  0x54: 'BINSTRING',
  0x8c: 'SHORT_BINUNICODE',
  0x58: 'BINUNICODE',
  0x8d: 'BINUNICODE8',
  0x43: 'SHORT_BINBYTES',
  0x42: 'BINBYTES',
  0x8e: 'BINBYTES8',
  0x96: 'BYTEARRAY8',
  0x71: 'BINPUT',
  0x72: 'LONG_BINPUT',
  0x94: 'MEMOIZE',
  0x68: 'BINGET',
  0x6a: 'LONG_BINGET',
  0x52: 'REDUCE',
  0x62: 'BUILD',
  0x51: 'BINPERSID',
  0x2e: 'STOP'
}

/** Text of a pickled string: Python 3 str as is, Python 2 str decoded as latin-1 (numpy's convention). */
export function asText(v: PyValue): string | undefined {
  if (typeof v === 'string') return v
  if (v instanceof PyBytes) return latin1Decode(v.bytes)
  return undefined
}

/** Bytes of a pickled byte string; Python 3 text counts when every character is latin-1. */
export function asBytes(v: PyValue): Uint8Array | undefined {
  if (v instanceof PyBytes) return v.bytes
  if (typeof v === 'string') return latin1Encode(v)
  return undefined
}

function latin1Decode(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1')
}

function latin1Encode(s: string): Uint8Array | undefined {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return undefined
  return Buffer.from(s, 'latin1')
}

/** Short description of a value for messages (never its full contents). */
export function describe(v: PyValue): string {
  if (v === null) return 'None'
  if (typeof v === 'boolean') return v ? 'True' : 'False'
  if (typeof v === 'number') return `int ${v}`
  if (typeof v === 'string') return `str ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v)}`
  if (v instanceof PyBytes) return `bytes of length ${v.bytes.length}`
  if (Array.isArray(v)) return `list/tuple of length ${v.length}`
  if (v instanceof Map) return `dict with ${v.size} keys`
  if (v instanceof NdArray) return `ndarray ${v.dtype.str} shape (${v.shape.join(', ')})`
  if (v instanceof NpDtype) return `dtype ${v.str}`
  if (v instanceof PySkipped) return `bytes of length ${v.length < 0 ? 'unknown' : v.length} (not read)`
  if (v instanceof PyObject) return v.tag
  return `global ${v.module}.${v.name}`
}

export interface UnpickleResult {
  value: PyValue
  /** Offset just after STOP. */
  end: number
}

/** The private opcode of a skeleton: u64 length, u64 file offset of a payload left unread. */
const SKIPPED = 0xf5

/** A pickle's structure without its large payloads, from `readPickleSkeleton`. */
export interface PickleSkeleton {
  bytes: Uint8Array
  /** Size of the file it was read from. */
  fileSize: number
  /** File offset of a position in `bytes`. */
  offsetOf(pos: number): number
}

export interface UnpickleOptions {
  /** `buf` is a skeleton: SKIPPED opcodes are allowed and messages give file offsets. */
  skeleton?: PickleSkeleton
  /**
   * Further globals a caller allows, by `module.name` (PyTorch's `torch._utils._rebuild_tensor_v2`, its
   * storage types): REDUCE calls the function with the arguments as data; null marks a global that is only
   * ever a value (a storage type named in a persistent id). Nothing else is allowed, as before. With any of
   * them, BUILD on a dict (an OrderedDict's `_metadata`) is accepted and its state ignored.
   */
  globals?: Record<string, ((args: PyValue[]) => PyValue) | null>
  /** BINPERSID: what a persistent id stands for (PyTorch's storages); refused without it. */
  persistentLoad?: (pid: PyValue) => PyValue
}

/**
 * Reads one pickle from `buf` starting at `start` (offsets in messages are offsets in `buf`, so pass
 * the whole file to get file offsets). Throws PickleError on anything it does not understand.
 */
export function unpickle(buf: Uint8Array, start = 0, options: UnpickleOptions = {}): UnpickleResult {
  const skeleton = options.skeleton
  const at = (p: number): number =>
    !skeleton ? p : p === Infinity ? skeleton.fileSize : skeleton.offsetOf(p)
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  const stack: PyValue[] = []
  const marks: number[] = []
  const memo = new Map<number, PyValue>()
  let pos = start
  let opStart = start
  let opName = ''

  const fail = (msg: string): never => {
    throw new PickleError(`${msg} (pickle opcode ${opName} at byte offset ${at(opStart)})`, at(opStart))
  }
  const need = (n: number, end = buf.length): void => {
    // In a skeleton, a FRAME (end Infinity) counts payloads that were left in the file.
    if (n < 0 || (end !== Infinity && pos + n > buf.length) || at(pos) + n > at(end)) {
      throw new PickleError(
        `truncated file: ${opName} at byte offset ${at(opStart)} needs ${n} more bytes at offset ${at(pos)} ` +
          `but the data ends at ${at(end)}`,
        at(pos)
      )
    }
  }
  const u8 = (): number => {
    need(1)
    return buf[pos++]
  }
  const u16 = (): number => {
    need(2)
    const v = view.getUint16(pos, true)
    pos += 2
    return v
  }
  const i32 = (): number => {
    need(4)
    const v = view.getInt32(pos, true)
    pos += 4
    return v
  }
  const u32 = (): number => {
    need(4)
    const v = view.getUint32(pos, true)
    pos += 4
    return v
  }
  const u64 = (): number => {
    need(8)
    const v = view.getBigUint64(pos, true)
    pos += 8
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`length ${v} is too large`)
    return Number(v)
  }
  const bytes = (n: number): Uint8Array => {
    need(n)
    const b = buf.subarray(pos, pos + n)
    pos += n
    return b
  }
  const utf8 = (n: number): string => {
    const b = bytes(n)
    return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8')
  }
  const line = (): string => {
    // GLOBAL names are short; a missing newline within reach means truncation or garbage.
    const limit = Math.min(buf.length, pos + 1024)
    for (let i = pos; i < limit; i++) {
      if (buf[i] === 0x0a) {
        const s = latin1Decode(buf.subarray(pos, i))
        pos = i + 1
        return s
      }
    }
    if (limit === buf.length) need(limit - pos + 1)
    return fail('GLOBAL name has no end-of-line within 1024 bytes')
  }
  const pop = (): PyValue => {
    const floor = marks.length ? marks[marks.length - 1] : 0
    if (stack.length <= floor) fail('stack underflow (malformed pickle)')
    return stack.pop() as PyValue
  }
  const top = (): PyValue => {
    const floor = marks.length ? marks[marks.length - 1] : 0
    if (stack.length <= floor) fail('stack underflow (malformed pickle)')
    return stack[stack.length - 1]
  }
  const popMark = (): PyValue[] => {
    if (!marks.length) fail('no MARK on the stack (malformed pickle)')
    const m = marks.pop() as number
    return stack.splice(m)
  }
  const memoGet = (i: number): PyValue => {
    if (!memo.has(i)) fail(`memo entry ${i} was never stored (malformed pickle)`)
    return memo.get(i) as PyValue
  }
  const key = (k: PyValue): PyKey => {
    if (k instanceof PyBytes) return latin1Decode(k.bytes)
    if (k === null || typeof k === 'string' || typeof k === 'number' || typeof k === 'boolean') return k
    return fail(`unsupported dict key type: ${describe(k)}`)
  }
  const dictOf = (v: PyValue): Map<PyKey, PyValue> =>
    v instanceof Map ? v : fail(`expected a dict, found ${describe(v)}`)
  const listOf = (v: PyValue): PyValue[] =>
    Array.isArray(v) ? v : fail(`expected a list, found ${describe(v)}`)
  const extra = options.globals
  const global = (module: string, name: string): PyGlobal => {
    const role: GlobalRole | undefined =
      ALLOWED_GLOBALS[`${module}.${name}`] ??
      (extra && Object.hasOwn(extra, `${module}.${name}`) ? 'custom' : undefined)
    if (!role && extra) {
      fail(
        `refusing to load: the pickle asks for the Python global '${module}.${name}', which a weights file ` +
          `never needs (only tensors, their storages and ordered dicts are allowed); the file may be malicious`
      )
    }
    if (!role) {
      fail(
        `refusing to load: the pickle asks for the Python global '${module}.${name}', which a weights file ` +
          `never needs (only numpy array reconstruction is allowed); the file may be malicious`
      )
    }
    return new PyGlobal(module, name, role)
  }

  for (;;) {
    opStart = pos
    if (pos >= buf.length) {
      opName = 'STOP'
      throw new PickleError(
        `truncated file: the pickle ends at byte offset ${at(pos)} before its STOP opcode`,
        at(pos)
      )
    }
    const op = buf[pos++]
    if (op === SKIPPED && skeleton) {
      opName = 'BINSTRING'
      const length = u64()
      stack.push(new PySkipped(length, u64()))
      continue
    }
    const name = OPCODES[op]
    if (!name) {
      const ch = op >= 0x20 && op < 0x7f ? ` '${String.fromCharCode(op)}'` : ''
      throw new PickleError(
        `unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')}${ch} at byte offset ${at(opStart)}: ` +
          `not a numpy weights pickle, or a kind this reader does not handle`,
        at(opStart)
      )
    }
    opName = name
    switch (op) {
      case 0x80: {
        const proto = u8()
        if (proto > 5) fail(`pickle protocol ${proto} is newer than this reader knows`)
        break
      }
      case 0x95: {
        // FRAME: only a read-ahead hint; the whole buffer is here already (a skeleton lacks the payloads).
        const n = u64()
        if (skeleton) need(n, Infinity)
        else need(n)
        break
      }
      case 0x63: {
        const module = line()
        stack.push(global(module, line()))
        break
      }
      case 0x93: {
        const name = asText(pop())
        const module = asText(pop())
        if (module === undefined || name === undefined) return fail('STACK_GLOBAL needs two strings')
        stack.push(global(module, name))
        break
      }
      case 0x28:
        marks.push(stack.length)
        break
      case 0x7d:
        stack.push(new Map())
        break
      case 0x64: {
        const items = popMark()
        if (items.length % 2) fail('DICT with an odd number of items')
        const d = new Map<PyKey, PyValue>()
        for (let i = 0; i < items.length; i += 2) d.set(key(items[i]), items[i + 1])
        stack.push(d)
        break
      }
      case 0x5d:
        stack.push([])
        break
      case 0x6c:
        stack.push(popMark())
        break
      case 0x61: {
        const v = pop()
        listOf(top()).push(v)
        break
      }
      case 0x65: {
        const items = popMark()
        const list = listOf(top())
        for (const v of items) list.push(v)
        break
      }
      case 0x73: {
        const v = pop()
        const k = pop()
        dictOf(top()).set(key(k), v)
        break
      }
      case 0x75: {
        const items = popMark()
        if (items.length % 2) fail('SETITEMS with an odd number of items')
        const d = dictOf(top())
        for (let i = 0; i < items.length; i += 2) d.set(key(items[i]), items[i + 1])
        break
      }
      case 0x74:
        stack.push(popMark())
        break
      case 0x29:
        stack.push([])
        break
      case 0x85:
        stack.push([pop()])
        break
      case 0x86: {
        const b = pop()
        stack.push([pop(), b])
        break
      }
      case 0x87: {
        const c = pop()
        const b = pop()
        stack.push([pop(), b, c])
        break
      }
      case 0x4a:
        stack.push(i32())
        break
      case 0x4b:
        stack.push(u8())
        break
      case 0x4d:
        stack.push(u16())
        break
      case 0x8a: {
        // LONG1: little-endian two's complement; Python 2 writes shapes as longs on some platforms.
        const b = bytes(u8())
        let v = 0n
        for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i])
        if (b.length && b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length)
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
          fail(`integer ${v} is too large`)
        }
        stack.push(Number(v))
        break
      }
      case 0x47: {
        need(8)
        stack.push(view.getFloat64(pos, false))
        pos += 8
        break
      }
      case 0x4e:
        stack.push(null)
        break
      case 0x88:
        stack.push(true)
        break
      case 0x89:
        stack.push(false)
        break
      case 0x55:
        stack.push(new PyBytes(bytes(u8())))
        break
      case 0x54: {
        const n = i32()
        if (n < 0) fail(`negative string length ${n}`)
        stack.push(new PyBytes(bytes(n)))
        break
      }
      case 0x8c:
        stack.push(utf8(u8()))
        break
      case 0x58:
        stack.push(utf8(u32()))
        break
      case 0x8d:
        stack.push(utf8(u64()))
        break
      case 0x43:
        stack.push(new PyBytes(bytes(u8())))
        break
      case 0x42:
        stack.push(new PyBytes(bytes(u32())))
        break
      case 0x8e:
      case 0x96:
        stack.push(new PyBytes(bytes(u64())))
        break
      case 0x71:
        memo.set(u8(), top())
        break
      case 0x72:
        memo.set(u32(), top())
        break
      case 0x94:
        memo.set(memo.size, top())
        break
      case 0x68:
        stack.push(memoGet(u8()))
        break
      case 0x6a:
        stack.push(memoGet(u32()))
        break
      case 0x52: {
        const args = pop()
        const fn = pop()
        if (!(fn instanceof PyGlobal)) return fail(`REDUCE on ${describe(fn)}, which is not callable`)
        if (!Array.isArray(args)) return fail(`REDUCE arguments must be a tuple, found ${describe(args)}`)
        if (fn.role === 'custom') {
          const call = extra?.[`${fn.module}.${fn.name}`]
          if (!call) return fail(`'${fn.module}.${fn.name}' is not callable`)
          try {
            stack.push(call(args))
          } catch (err) {
            fail(`${fn.module}.${fn.name}: ${(err as Error).message}`)
          }
          break
        }
        stack.push(reduce(fn, args, fail))
        break
      }
      case 0x51: {
        const pid = pop()
        if (!options.persistentLoad) return fail('persistent ids are not allowed in this file')
        try {
          stack.push(options.persistentLoad(pid))
        } catch (err) {
          fail((err as Error).message)
        }
        break
      }
      case 0x62: {
        const state = pop()
        const target = top()
        if (target instanceof NdArray) buildArray(target, state, fail)
        else if (target instanceof NpDtype) buildDtype(target, state, fail)
        else if (extra && target instanceof Map) {
          // An OrderedDict's instance attributes (PyTorch's `_metadata`): not weights, ignored.
        } else fail(`BUILD on ${describe(target)}, which this reader does not rebuild`)
        break
      }
      case 0x2e: {
        const value = pop()
        if (stack.length || marks.length) fail('STOP with values left on the stack (malformed pickle)')
        return { value, end: pos }
      }
    }
  }
}

type Fail = (msg: string) => never

function reduce(fn: PyGlobal, args: PyValue[], fail: Fail): PyValue {
  switch (fn.role) {
    case 'reconstruct': {
      // _reconstruct(ndarray, (0,), b'b') makes an empty array that the following BUILD fills.
      const cls = args[0]
      if (!(cls instanceof PyGlobal) || cls.role !== 'ndarray') {
        return fail(
          `_reconstruct of ${cls === undefined ? 'nothing' : describe(cls)}; only numpy.ndarray is allowed`
        )
      }
      return new NdArray()
    }
    case 'frombuffer': {
      // Protocol 5: _frombuffer(bytearray, dtype, shape, order) is the whole array in one call.
      const [data, dtype, shape, order] = args
      const arr = new NdArray()
      setArrayState(arr, shape ?? null, dtype ?? null, asText(order ?? 'C') === 'F', data ?? null, fail)
      return arr
    }
    case 'dtype': {
      const code = asText(args[0] ?? null)
      if (code === undefined) return fail(`numpy.dtype(${describe(args[0] ?? null)}) is not a dtype code`)
      return parseDtypeCode(code, fail)
    }
    case 'encode': {
      // Python 3 writes bytes at protocol 2 as _codecs.encode(text, 'latin1'): decode it as data.
      const text = args[0]
      const encoding = asText(args[1] ?? 'utf-8')
        ?.toLowerCase()
        .replace('_', '-')
      // A skipped text's byte count is not known without decoding it: the array's length check is skipped.
      if (text instanceof PySkipped) return new PySkipped(-1, text.offset)
      if (typeof text !== 'string') return fail(`_codecs.encode of ${describe(text ?? null)}`)
      if (encoding === 'latin1' || encoding === 'latin-1' || encoding === 'iso-8859-1') {
        const b = latin1Encode(text)
        if (!b) return fail('_codecs.encode: text has characters outside latin-1')
        return new PyBytes(b)
      }
      if (encoding === 'utf-8' || encoding === 'utf8') return new PyBytes(Buffer.from(text, 'utf8'))
      return fail(`_codecs.encode with unsupported encoding ${JSON.stringify(encoding)}`)
    }
    case 'ndarray':
      return fail('calling numpy.ndarray directly is not supported')
    case 'custom':
      return fail(`'${fn.module}.${fn.name}' is not callable here`)
  }
}

const DTYPE_CODE = /^([<>|=]?)([a-zA-Z])(\d*)$/

function parseDtypeCode(code: string, fail: Fail): NpDtype {
  const m = DTYPE_CODE.exec(code)
  if (!m) return fail(`unsupported numpy dtype ${JSON.stringify(code)}`)
  const kind = m[2]
  const itemsize = m[3] ? Number(m[3]) : kind === 'O' ? 8 : kind === 'b' || kind === '?' ? 1 : 0
  const dt = new NpDtype(kind, itemsize)
  if (m[1]) dt.byteorder = m[1]
  else if (itemsize <= 1 || kind === 'O') dt.byteorder = '|'
  return dt
}

/** Parses an NPY header 'descr' such as '<f4' or '|O'. */
export function dtypeFromDescr(descr: string): NpDtype {
  return parseDtypeCode(descr, (msg) => {
    throw new Error(msg)
  })
}

function buildDtype(dt: NpDtype, state: PyValue, fail: Fail): void {
  // numpy's dtype state: (version, byteorder, <object slots>, elsize, alignment[, flags[, metadata]]).
  // Versions 3 and 4 (8 or 9 items, all numpy since 2006) have subarray, names, fields; older ones fewer.
  if (!Array.isArray(state) || state.length < 5 || state.length > 9) {
    return fail(`unexpected numpy dtype state: ${describe(state)}`)
  }
  const byteorder = asText(state[1])
  if (byteorder === undefined || !/^[<>|=]$/.test(byteorder)) {
    return fail(`bad dtype byte order ${describe(state[1])}`)
  }
  const objectSlots = state.length >= 7 ? 3 : state.length - 4
  if (state.slice(2, 2 + objectSlots).some((v) => v !== null)) {
    return fail(`structured or sub-array dtype ${dt.kind}${dt.itemsize} is not supported`)
  }
  dt.byteorder = byteorder
}

function buildArray(arr: NdArray, state: PyValue, fail: Fail): void {
  // (version, shape, dtype, is_fortran, data) or, from very old numpy, the same without version.
  if (!Array.isArray(state) || (state.length !== 5 && state.length !== 4)) {
    return fail(`unexpected numpy array state: ${describe(state)}`)
  }
  const [shape, dtype, fortran, data] = state.length === 5 ? state.slice(1) : state
  if (typeof fortran !== 'boolean' && fortran !== 0 && fortran !== 1) {
    return fail(`bad is_fortran ${describe(fortran)}`)
  }
  setArrayState(arr, shape, dtype, Boolean(fortran), data, fail)
}

function setArrayState(
  arr: NdArray,
  shape: PyValue,
  dtype: PyValue,
  fortran: boolean,
  data: PyValue,
  fail: Fail
): void {
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0)) {
    return fail(`bad array shape ${describe(shape)}`)
  }
  if (!(dtype instanceof NpDtype)) return fail(`bad array dtype ${describe(dtype)}`)
  arr.shape = shape as number[]
  arr.dtype = dtype
  arr.fortranOrder = fortran
  const size = arr.size
  if (dtype.kind === 'O') {
    if (!Array.isArray(data) || data.length !== size) {
      return fail(`object array of shape (${arr.shape.join(', ')}) has data ${describe(data)}`)
    }
    arr.objects = data
  } else if (data instanceof PySkipped) {
    const expected = size * dtype.itemsize
    if (data.length >= 0 && data.length !== expected) {
      return fail(
        `array of shape (${arr.shape.join(', ')}) and dtype ${dtype.str} needs ${expected} bytes ` +
          `but the pickle holds ${data.length}`
      )
    }
    arr.unreadAt = data.offset
  } else {
    const raw = asBytes(data)
    if (!raw) return fail(`array data is ${describe(data)}, not bytes`)
    const expected = size * dtype.itemsize
    if (raw.length !== expected) {
      return fail(
        `array of shape (${arr.shape.join(', ')}) and dtype ${dtype.str} needs ${expected} bytes ` +
          `but the pickle holds ${raw.length}`
      )
    }
    arr.raw = raw
  }
}

/** Positioned reads of a file whose size is known (a `fs.promises` FileHandle, or a buffer in tests). */
export interface ByteSource {
  size: number
  read(offset: number, length: number): Promise<Uint8Array>
}

/** Argument bytes after each fixed-size opcode (the others take none, or are handled below). */
const FIXED_ARGS: Record<number, number> = {
  0x80: 1,
  0x95: 8,
  0x4a: 4,
  0x4b: 1,
  0x4d: 2,
  0x47: 8,
  0x71: 1,
  0x72: 4,
  0x68: 1,
  0x6a: 4
}
/** Opcodes followed by a length (of 1, 4 or 8 bytes) and that many bytes. */
const SIZED: Record<number, 1 | 4 | 8> = {
  0x8a: 1,
  0x55: 1,
  0x8c: 1,
  0x43: 1,
  0x54: 4,
  0x58: 4,
  0x42: 4,
  0x8d: 8,
  0x8e: 8,
  0x96: 8
}

/**
 * The pickle starting at `start` in `src` without its byte payloads over `maxInline` bytes: each becomes a
 * SKIPPED opcode, so reading a 244 MB weights file costs a few small reads. The walk stops at STOP, at an
 * opcode it does not know, or at the end of the file (then `unpickle` reports the problem, with file
 * offsets); nothing beyond `src.size` is read.
 */
export async function readPickleSkeleton(
  src: ByteSource,
  start: number,
  opts: { maxInline?: number; maxStructure?: number } = {}
): Promise<PickleSkeleton> {
  const maxInline = opts.maxInline ?? 64 * 1024
  // A weights pickle's structure is a few KB; a huge one (millions of small opcodes) would only make the
  // unpickling of the skeleton block the loop, so it is refused.
  const maxStructure = opts.maxStructure ?? 16 << 20
  const out: Uint8Array[] = []
  let outLength = 0
  /** [skeleton position, file position] where each run of copied bytes starts. */
  const segments: [number, number][] = []
  let pos = start
  let window: Uint8Array = new Uint8Array(0)
  let windowAt = start
  const WINDOW = 64 * 1024

  /** Up to `n` bytes at `pos` (fewer at the end of the file). */
  const peek = async (n: number): Promise<Uint8Array> => {
    const end = Math.min(src.size, pos + n)
    if (pos < windowAt || end > windowAt + window.length) {
      windowAt = pos
      window = await src.read(pos, Math.max(end - pos, Math.min(WINDOW, src.size - pos)))
    }
    return window.subarray(pos - windowAt, end - windowAt)
  }
  const emit = (b: Uint8Array, filePos: number): void => {
    if (outLength + b.length > maxStructure) {
      throw new PickleError(
        `the pickle's structure (without array data) passes ${maxStructure} bytes at byte offset ` +
          `${filePos}; a weights file's is a few KB`,
        filePos
      )
    }
    const last = segments[segments.length - 1]
    if (!last || last[1] + (outLength - last[0]) !== filePos) segments.push([outLength, filePos])
    out.push(b.slice())
    outLength += b.length
  }
  /** Copies `n` bytes at `pos` (fewer at the end of the file); false when the file ended first. */
  const copy = async (n: number): Promise<boolean> => {
    const b = await peek(n)
    emit(b, pos)
    pos += b.length
    return b.length === n
  }
  const le = (b: Uint8Array): number => {
    let v = 0
    for (let i = b.length - 1; i >= 0; i--) v = v * 256 + b[i]
    return v
  }

  /** Whether the walk ended at STOP or an unknown opcode, rather than at the end of the file. */
  let stopped = false
  walk: while (pos < src.size) {
    const op = (await peek(1))[0]
    if (op === 0x2e || !OPCODES[op]) {
      await copy(1)
      stopped = true
      break
    }
    if (op === 0x63) {
      // GLOBAL: two newline-terminated names, each at most 1024 bytes (as unpickle allows).
      await copy(1)
      for (let i = 0; i < 2; i++) {
        const b = await peek(1025)
        const nl = b.indexOf(0x0a)
        if (nl < 0) {
          await copy(b.length)
          break walk
        }
        await copy(nl + 1)
      }
      continue
    }
    const sized = SIZED[op]
    if (sized) {
      const head = await peek(1 + sized)
      if (head.length < 1 + sized) {
        await copy(head.length)
        break
      }
      const n = le(head.subarray(1))
      if (n > maxInline && pos + 1 + sized + n <= src.size) {
        // A payload that is there in full but not needed: its length and place stand in for it.
        const skipped = new Uint8Array(17)
        const view = new DataView(skipped.buffer)
        skipped[0] = SKIPPED
        view.setBigUint64(1, BigInt(n), true)
        view.setBigUint64(9, BigInt(pos + 1 + sized), true)
        emit(skipped, pos)
        pos += 1 + sized + n
        continue
      }
      if (!(await copy(Math.min(1 + sized + n, 1 + sized + maxInline + 1)))) break
      if (n > maxInline) break // truncated: unpickle reports it
      continue
    }
    if (!(await copy(1 + (FIXED_ARGS[op] ?? 0)))) break
  }
  const bytes = new Uint8Array(outLength)
  let o = 0
  for (const b of out) {
    bytes.set(b, o)
    o += b.length
  }
  return {
    bytes,
    fileSize: src.size,
    offsetOf(p: number): number {
      // A walk cut short by the end of the file: the skeleton's end is the file's.
      if (p >= outLength && !stopped) return src.size
      let i = segments.length - 1
      while (i > 0 && segments[i][0] > p) i--
      return segments.length ? segments[i][1] + (p - segments[i][0]) : start + p
    }
  }
}
