// On-disk cache of one layer's features (fc7 for strategy 3) per image, so relabelling or retraining the
// classifier head never recomputes AlexNet's forward pass for an image it has already seen.
//
// Layout: `<root>/<baseKey>/<prepKey>/<layer>.f32` + `<layer>.idx`, with root = `<project>.features`.
// - `.f32`: append-only rows of `dim` little-endian float32 (4096 floats = 16 KiB per image). It is never
//   read whole: rows are fetched with positional reads, so 50k x 4096 (800 MB) costs only the index in RAM.
// - `.idx`: a 16-byte header (magic 'TSFC', version, dim) then append-only 32-byte records
//   [SHA-1 (20 bytes) | row u32 | CRC-32 of the row's bytes | CRC-32 of the first 28 bytes of the record].
//   Loading 50k records is 1.6 MB. A later record for the same hash wins.
// Why files and not SQLite: rows are fixed-size and written once, so a flat file is the fastest possible
// store and needs no blob paging; the index stays tiny and is rebuilt in memory on open.
// Crash safety: the row is written before its index record; on open a trailing partial record or row is
// cut off, records pointing past the data are dropped, and the last rows' CRCs are checked; any other row
// whose CRC does not match is treated as missing when read, so the feature is simply recomputed.
// One writer at a time (the trainer); readers in the same process share the instance.
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  writeSync
} from 'node:fs'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'

const MAGIC = 0x43465354 // 'TSFC' little-endian
const VERSION = 1
const HEADER_BYTES = 16
const RECORD_BYTES = 32
/** Rows at the end of the data file whose CRC is verified on open (where a crash tears writes). */
const TAIL_CHECK_ROWS = 64
// Read/write, created if absent; not O_APPEND, whose writes ignore the position on Linux.
const OPEN_FLAGS = constants.O_RDWR | constants.O_CREAT

export interface FeatureCacheOptions {
  /** Identifies the network that produced the features (e.g. BVLC file hash + width/fcUnits). */
  baseKey: string
  /** `preprocessingKey(prep)`. */
  prepKey: string
  /** Layer name, default 'fc7'. */
  layer?: string
  /** Floats per feature row (4096 for the real fc7). */
  dim: number
}

/** `<project>.features`, the folder beside a project file where its feature caches live. */
export { featureCacheRoot } from '../../project/paths'

/** A key as a folder/file name: safe characters kept, anything else replaced and disambiguated by a hash. */
function safeName(key: string): string {
  if (!key) throw new Error('feature cache key must not be empty')
  const safe = key.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80)
  if (safe === key && key !== '.' && key !== '..') return safe
  return `${safe}-${createHash('sha1').update(key).digest('hex').slice(0, 8)}`
}

function hashBytes(hash: string): Buffer {
  if (!/^[0-9a-fA-F]{40}$/.test(hash))
    throw new Error(`feature cache: image hash must be 40 hex digits (SHA-1), got "${hash}"`)
  return Buffer.from(hash, 'hex')
}

interface Entry {
  row: number
  crc: number
}

export class FeatureCache {
  private readonly entries = new Map<string, Entry>()
  private rows: number
  private closed = false

  private constructor(
    /** The folder holding this cache's two files. */
    readonly dir: string,
    readonly layer: string,
    readonly dim: number,
    private readonly dataFd: number,
    private readonly indexFd: number,
    private indexBytes: number,
    dataRows: number
  ) {
    this.rows = dataRows
  }

  /** Opens (creating if needed) the cache for (baseKey, prepKey, layer) under `root`. */
  static open(root: string, opts: FeatureCacheOptions): FeatureCache {
    if (!Number.isInteger(opts.dim) || opts.dim < 1)
      throw new Error(`feature cache: dim must be a positive integer, got ${opts.dim}`)
    const layer = opts.layer ?? 'fc7'
    const dir = join(root, safeName(opts.baseKey), safeName(opts.prepKey))
    mkdirSync(dir, { recursive: true })
    const name = safeName(layer)
    const dataFd = openSync(join(dir, `${name}.f32`), OPEN_FLAGS)
    let indexFd: number
    try {
      indexFd = openSync(join(dir, `${name}.idx`), OPEN_FLAGS)
    } catch (err) {
      closeSync(dataFd)
      throw err
    }
    try {
      return FeatureCache.load(dir, layer, opts.dim, dataFd, indexFd)
    } catch (err) {
      closeSync(dataFd)
      closeSync(indexFd)
      throw err
    }
  }

  private static load(
    dir: string,
    layer: string,
    dim: number,
    dataFd: number,
    indexFd: number
  ): FeatureCache {
    const rowBytes = dim * 4
    // A partial trailing row is a write cut short: drop it so appends stay row-aligned.
    const dataSize = fstatSync(dataFd).size
    const dataRows = Math.floor(dataSize / rowBytes)
    if (dataRows * rowBytes !== dataSize) ftruncateSync(dataFd, dataRows * rowBytes)

    let indexSize = fstatSync(indexFd).size
    if (indexSize < HEADER_BYTES) {
      // New (or a header cut short, which held nothing): start the index afresh.
      const header = Buffer.alloc(HEADER_BYTES)
      header.writeUInt32LE(MAGIC, 0)
      header.writeUInt32LE(VERSION, 4)
      header.writeUInt32LE(dim, 8)
      ftruncateSync(indexFd, 0)
      writeSync(indexFd, header, 0, HEADER_BYTES, 0)
      indexSize = HEADER_BYTES
    }
    const buf = Buffer.alloc(indexSize)
    readSync(indexFd, buf, 0, indexSize, 0)
    if (buf.readUInt32LE(0) !== MAGIC || buf.readUInt32LE(4) !== VERSION) {
      throw new Error(`feature cache: ${join(dir, `${layer}.idx`)} is not a version ${VERSION} feature index`)
    }
    const fileDim = buf.readUInt32LE(8)
    if (fileDim !== dim) {
      throw new Error(
        `feature cache: ${dir} holds ${layer} features of ${fileDim} floats, asked for ${dim}; the base model key should differ`
      )
    }
    const whole = Math.floor((indexSize - HEADER_BYTES) / RECORD_BYTES)
    const end = HEADER_BYTES + whole * RECORD_BYTES
    if (end !== indexSize) ftruncateSync(indexFd, end)

    const cache = new FeatureCache(dir, layer, dim, dataFd, indexFd, end, dataRows)
    let damaged = false
    for (let o = HEADER_BYTES; o < end; o += RECORD_BYTES) {
      const row = buf.readUInt32LE(o + 20)
      if (crc32(buf.subarray(o, o + 28)) !== buf.readUInt32LE(o + 28) || row >= dataRows) {
        damaged = true
        continue
      }
      cache.entries.set(buf.toString('hex', o, o + 20), { row, crc: buf.readUInt32LE(o + 24) })
    }
    // Torn writes happen at the tail, so the last rows are checked now (cheap) and the rest when read.
    const tail = Math.max(0, dataRows - TAIL_CHECK_ROWS)
    const scratch = new Float32Array(dim)
    for (const [key, e] of [...cache.entries]) {
      if (e.row >= tail && !cache.readInto(key, scratch, 0)) damaged = true
    }
    // Drop bad records for good: otherwise a record pointing past the data would come back to life (with
    // someone else's bytes) once new rows are appended there.
    if (damaged) cache.rewriteIndex()
    return cache
  }

  /** Replaces the index with one record per live entry (only after damage was found on open). */
  private rewriteIndex(): void {
    const records = Buffer.alloc(HEADER_BYTES + RECORD_BYTES * this.entries.size)
    records.writeUInt32LE(MAGIC, 0)
    records.writeUInt32LE(VERSION, 4)
    records.writeUInt32LE(this.dim, 8)
    let o = HEADER_BYTES
    for (const [key, e] of this.entries) {
      records.write(key, o, 20, 'hex')
      records.writeUInt32LE(e.row, o + 20)
      records.writeUInt32LE(e.crc, o + 24)
      records.writeUInt32LE(crc32(records.subarray(o, o + 28)), o + 28)
      o += RECORD_BYTES
    }
    ftruncateSync(this.indexFd, 0)
    writeAll(this.indexFd, records, 0)
    fsyncSync(this.indexFd)
    this.indexBytes = records.length
  }

  /** Number of images with a (probably intact) cached row. */
  get size(): number {
    return this.entries.size
  }

  has(hash: string): boolean {
    return this.entries.has(hash.toLowerCase())
  }

  /** The hashes (deduplicated, in first-seen order) that still need features computed. */
  missing(hashes: Iterable<string>): string[] {
    const out: string[] = []
    const seen = new Set<string>()
    for (const h of hashes) {
      const k = h.toLowerCase()
      if (seen.has(k)) continue
      seen.add(k)
      if (!this.entries.has(k)) out.push(h)
    }
    return out
  }

  put(hash: string, features: Float32Array): void {
    this.putMany([hash], features)
  }

  /** Appends `hashes.length` rows taken in order from `features` (length hashes.length * dim). */
  putMany(hashes: readonly string[], features: Float32Array): void {
    this.assertOpen()
    if (features.length !== hashes.length * this.dim) {
      throw new Error(
        `feature cache: ${hashes.length} hashes need ${hashes.length * this.dim} floats, got ${features.length}`
      )
    }
    if (hashes.length === 0) return
    const keys = hashes.map(hashBytes)
    const rowBytes = this.dim * 4
    const data = Buffer.from(features.buffer, features.byteOffset, features.byteLength)
    const records = Buffer.alloc(RECORD_BYTES * hashes.length)
    const crcs: number[] = []
    for (let i = 0; i < hashes.length; i++) {
      const crc = crc32(data.subarray(i * rowBytes, (i + 1) * rowBytes))
      crcs.push(crc)
      const o = i * RECORD_BYTES
      keys[i].copy(records, o)
      records.writeUInt32LE(this.rows + i, o + 20)
      records.writeUInt32LE(crc, o + 24)
      records.writeUInt32LE(crc32(records.subarray(o, o + 28)), o + 28)
    }
    // Rows first, then the records that point at them.
    writeAll(this.dataFd, data, this.rows * rowBytes)
    writeAll(this.indexFd, records, this.indexBytes)
    this.indexBytes += records.length
    for (let i = 0; i < hashes.length; i++)
      this.entries.set(hashes[i].toLowerCase(), { row: this.rows + i, crc: crcs[i] })
    this.rows += hashes.length
  }

  /** The cached row, or null when absent or found damaged (then it counts as missing from now on). */
  get(hash: string): Float32Array | null {
    const out = new Float32Array(this.dim)
    return this.readInto(hash.toLowerCase(), out, 0) ? out : null
  }

  /**
   * Rows for `hashes`, concatenated (hashes.length * dim floats). Throws when any is absent or damaged;
   * call `missing()` first and compute those. Keep requests to a few thousand rows (16 KiB each for fc7).
   */
  getMany(hashes: readonly string[]): Float32Array {
    const out = new Float32Array(hashes.length * this.dim)
    const bad: string[] = []
    hashes.forEach((h, i) => {
      if (!this.readInto(h.toLowerCase(), out, i * this.dim)) bad.push(h)
    })
    if (bad.length > 0) {
      throw new Error(
        `feature cache: ${bad.length} of ${hashes.length} features are missing or damaged (first: ${bad[0]}); compute missing() first`
      )
    }
    return out
  }

  /** Flushes to disk and closes the files. */
  close(): void {
    if (this.closed) return
    this.closed = true
    try {
      fsyncSync(this.dataFd)
      fsyncSync(this.indexFd)
    } finally {
      closeSync(this.dataFd)
      closeSync(this.indexFd)
    }
  }

  private readInto(key: string, out: Float32Array, offset: number): boolean {
    this.assertOpen()
    const e = this.entries.get(key)
    if (!e) return false
    const rowBytes = this.dim * 4
    const view = Buffer.from(out.buffer, out.byteOffset + offset * 4, rowBytes)
    const n = readSync(this.dataFd, view, 0, rowBytes, e.row * rowBytes)
    if (n !== rowBytes || crc32(view) !== e.crc) {
      this.entries.delete(key)
      view.fill(0)
      return false
    }
    return true
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('feature cache is closed')
  }
}

function writeAll(fd: number, buf: Buffer, position: number): void {
  let done = 0
  while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done, position + done)
}
