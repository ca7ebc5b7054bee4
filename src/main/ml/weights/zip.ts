// A minimal ZIP reader for PyTorch's archives (`torch.save` since 1.6): the central directory of a file read
// with positioned reads, each entry's name, size and the file offset of its data. It knows only what those
// archives use: stored (uncompressed) entries and ZIP64 sizes and offsets (a state dict over 4 GB); anything
// compressed, encrypted, split over disks, or whose data would lie outside the file is refused, before any
// entry's data is read.
//
// Written here rather than taken from npm: `adm-zip` and `unzipper` are in node_modules only as dependencies
// of onnxruntime-node's installer and electron-builder, not of the app, and adding a dependency is not an
// option; adm-zip also reads the whole archive into memory, and a 500 MB checkpoint needs a directory of a few
// KB and then one positioned read per tensor. Stored entries and a directory walk are ~150 lines.

/** Positioned reads of a file whose size is known (a `fs.promises` FileHandle in practice). */
export interface ZipSource {
  size: number
  /** Exactly `length` bytes at `offset`, or throws (the caller checked that they lie inside the file). */
  read(offset: number, length: number): Promise<Uint8Array>
}

export interface ZipEntry {
  name: string
  /** Bytes of data (stored entries: compressed and uncompressed sizes agree). */
  size: number
  /** File offset of the entry's first data byte. */
  dataOffset: number
}

export type ZipErrorCode =
  /** No end-of-central-directory record: not a ZIP file, or one cut short. */
  | 'no-end-record'
  /** The directory or an entry's header is damaged, or points outside the file. */
  | 'damaged'
  /** An entry is compressed, encrypted, or the archive spans disks. */
  | 'unsupported'

/** An archive we refuse to read; `code` says why, the message says it in words. */
export class ZipError extends Error {
  override name = 'ZipError'
  constructor(
    readonly code: ZipErrorCode,
    message: string
  ) {
    super(message)
  }
}

const EOCD = 0x06054b50
const ZIP64_LOCATOR = 0x07064b50
const ZIP64_EOCD = 0x06064b50
const CENTRAL = 0x02014b50
const LOCAL = 0x04034b50
/** The end record is 22 bytes plus a comment of at most 65535. */
const MAX_TAIL = 22 + 0xffff
/** A PyTorch archive's directory is a few KB (one entry per storage); a huge one is refused. */
const MAX_DIRECTORY = 64 << 20

const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength)

/** Whether `head` (the file's first bytes) starts like a ZIP archive (a local file header). */
export function looksLikeZip(head: Uint8Array): boolean {
  return head.length >= 4 && view(head).getUint32(0, true) === LOCAL
}

/** A u64 that must be a safe integer (ZIP64 fields of a file that JavaScript can address). */
function u64(dv: DataView, at: number, what: string): number {
  const v = dv.getBigUint64(at, true)
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipError('damaged', `ZIP ${what} ${v} is impossibly large`)
  return Number(v)
}

/**
 * Every entry of the archive, by name, from its central directory (the end record, its ZIP64 form when
 * present, the directory, and each entry's local header, which says where the data starts). Sizes and
 * offsets are checked against `src.size`; no entry's data is read.
 */
export async function readZipDirectory(src: ZipSource): Promise<Map<string, ZipEntry>> {
  const size = src.size
  if (size < 22) throw new ZipError('no-end-record', `the file is only ${size} bytes, too short for a ZIP archive`)
  const tailLength = Math.min(size, MAX_TAIL)
  const tailAt = size - tailLength
  const tail = await src.read(tailAt, tailLength)
  const tv = view(tail)
  let eocd = -1
  for (let i = tail.length - 22; i >= 0; i--) {
    // The comment length must reach the end of the file exactly, so a signature inside a comment is skipped.
    if (tv.getUint32(i, true) === EOCD && i + 22 + tv.getUint16(i + 20, true) === tail.length) {
      eocd = i
      break
    }
  }
  if (eocd < 0) {
    throw new ZipError(
      'no-end-record',
      'no ZIP end-of-directory record at the end of the file (a truncated download, or not a ZIP archive)'
    )
  }
  if (tv.getUint16(eocd + 4, true) !== 0 || tv.getUint16(eocd + 6, true) !== 0) {
    throw new ZipError('unsupported', 'the ZIP archive spans several disks')
  }
  let count = tv.getUint16(eocd + 10, true)
  let dirSize = tv.getUint32(eocd + 12, true)
  let dirOffset = tv.getUint32(eocd + 16, true)
  if (count === 0xffff || dirSize === 0xffffffff || dirOffset === 0xffffffff) {
    // ZIP64: a locator just before the end record points to the ZIP64 end record.
    const loc = eocd - 20
    if (loc < 0 || tv.getUint32(loc, true) !== ZIP64_LOCATOR) {
      throw new ZipError('damaged', 'the ZIP end record needs a ZIP64 record, but its locator is missing')
    }
    const at = u64(tv, loc + 8, 'ZIP64 end record offset')
    if (at + 56 > size) throw new ZipError('damaged', `the ZIP64 end record (offset ${at}) lies outside the file`)
    const z = view(await src.read(at, 56))
    if (z.getUint32(0, true) !== ZIP64_EOCD) {
      throw new ZipError('damaged', `no ZIP64 end record at offset ${at}`)
    }
    count = u64(z, 32, 'entry count')
    dirSize = u64(z, 40, 'directory size')
    dirOffset = u64(z, 48, 'directory offset')
  }
  if (dirSize > MAX_DIRECTORY) {
    throw new ZipError('damaged', `the ZIP directory claims ${dirSize} bytes; a weights archive's is a few KB`)
  }
  if (dirOffset + dirSize > size) {
    throw new ZipError(
      'damaged',
      `the ZIP directory (${dirSize} bytes at offset ${dirOffset}) runs past the end of the ${size}-byte file ` +
        '(a truncated file?)'
    )
  }
  // Each directory entry is at least 46 bytes: a count that cannot fit is a damaged record.
  if (count * 46 > dirSize) {
    throw new ZipError('damaged', `the ZIP directory claims ${count} entries in ${dirSize} bytes`)
  }
  const dir = await src.read(dirOffset, dirSize)
  const dv = view(dir)
  const entries = new Map<string, ZipEntry>()
  let p = 0
  for (let i = 0; i < count; i++) {
    if (p + 46 > dir.length || dv.getUint32(p, true) !== CENTRAL) {
      throw new ZipError('damaged', `ZIP directory entry ${i} (offset ${dirOffset + p}) is damaged`)
    }
    const flags = dv.getUint16(p + 8, true)
    const method = dv.getUint16(p + 10, true)
    let compressed = dv.getUint32(p + 20, true)
    let uncompressed = dv.getUint32(p + 24, true)
    const nameLength = dv.getUint16(p + 28, true)
    const extraLength = dv.getUint16(p + 30, true)
    const commentLength = dv.getUint16(p + 32, true)
    let local = dv.getUint32(p + 42, true)
    const end = p + 46 + nameLength + extraLength + commentLength
    if (end > dir.length) throw new ZipError('damaged', `ZIP directory entry ${i} runs past the directory`)
    const name = Buffer.from(dir.buffer, dir.byteOffset + p + 46, nameLength).toString('utf8')
    // The ZIP64 extra field (id 1) holds, in this order, whichever of the three did not fit in 32 bits.
    for (let e = p + 46 + nameLength, extraEnd = e + extraLength; e + 4 <= extraEnd; ) {
      const id = dv.getUint16(e, true)
      const len = dv.getUint16(e + 2, true)
      if (id === 0x0001) {
        let q = e + 4
        const field = (what: string): number => {
          if (q + 8 > e + 4 + len) throw new ZipError('damaged', `ZIP entry ${name}: short ZIP64 field`)
          const v = u64(dv, q, what)
          q += 8
          return v
        }
        if (uncompressed === 0xffffffff) uncompressed = field('size')
        if (compressed === 0xffffffff) compressed = field('compressed size')
        if (local === 0xffffffff) local = field('header offset')
      }
      e += 4 + len
    }
    if (flags & 1) throw new ZipError('unsupported', `ZIP entry ${name} is encrypted`)
    if (method !== 0) {
      throw new ZipError(
        'unsupported',
        `ZIP entry ${name} is compressed (method ${method}); PyTorch stores its entries uncompressed`
      )
    }
    if (compressed !== uncompressed) {
      throw new ZipError('damaged', `ZIP entry ${name}: stored, but its two sizes differ`)
    }
    if (local + 30 > size) throw new ZipError('damaged', `ZIP entry ${name}: its header lies outside the file`)
    const header = view(await src.read(local, 30))
    if (header.getUint32(0, true) !== LOCAL) {
      throw new ZipError('damaged', `ZIP entry ${name}: no local header at offset ${local}`)
    }
    const dataOffset = local + 30 + header.getUint16(26, true) + header.getUint16(28, true)
    if (dataOffset + uncompressed > size) {
      throw new ZipError(
        'damaged',
        `ZIP entry ${name} declares ${uncompressed} bytes at offset ${dataOffset}, past the end of the ` +
          `${size}-byte file (a truncated file?)`
      )
    }
    entries.set(name, { name, size: uncompressed, dataOffset })
    p = end
  }
  return entries
}
