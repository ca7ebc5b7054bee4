// Files a browser sends to `serve` before it asks for something to be done with them (`training:predict`):
// `POST /upload` streams the body into a private temporary folder, with a size limit checked while it
// streams, and answers an unguessable id; an invoke then names the file by that id. A file is used once, and
// one that is not used is removed after a while. Written here because it is a few lines over Node's streams:
// the HTTP server is Node's own, and a multipart parser would only add a format the client does not need.
import { randomBytes } from 'node:crypto'
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs'
import { mkdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { MAX_PENDING_UPLOADS, MAX_PENDING_UPLOAD_BYTES, MAX_UPLOAD_BYTES } from '../../shared/limits'
import { withCode } from '../errors'

/** An upload larger than the limit (HTTP 413). */
export class UploadTooLargeError extends Error {
  override name = 'UploadTooLargeError'
}
/** Too many uploads (or bytes) wait to be used (HTTP 429). */
export class TooManyUploadsError extends Error {
  override name = 'TooManyUploadsError'
}
/** An id that is not (or no longer) in the store. */
export class UploadNotFoundError extends Error {
  override name = 'UploadNotFoundError'
}

export interface UploadStoreOptions {
  maxBytes?: number
  maxPending?: number
  maxPendingBytes?: number
  /** How long an unused upload is kept (ms). */
  ttlMs?: number
}

interface Entry {
  path: string
  name: string
  bytes: number
  at: number
}

export interface Upload {
  id: string
  bytes: number
}

export class UploadStore {
  private readonly entries = new Map<string, Entry>()
  private readonly receiving = new Set<string>()
  private dir: string | null = null
  private pendingBytes = 0
  private readonly maxBytes: number
  private readonly maxPending: number
  private readonly maxPendingBytes: number
  private readonly ttlMs: number
  private readonly sweeper: NodeJS.Timeout

  constructor(opts: UploadStoreOptions = {}) {
    this.maxBytes = opts.maxBytes ?? MAX_UPLOAD_BYTES
    this.maxPending = opts.maxPending ?? MAX_PENDING_UPLOADS
    this.maxPendingBytes = opts.maxPendingBytes ?? MAX_PENDING_UPLOAD_BYTES
    this.ttlMs = opts.ttlMs ?? 10 * 60_000
    this.sweeper = setInterval(() => void this.sweep(), Math.min(this.ttlMs, 60_000))
    this.sweeper.unref()
  }

  /** The largest upload accepted, in bytes. */
  get limit(): number {
    return this.maxBytes
  }

  /**
   * Stream `body` into the store. `declared` (Content-Length) is refused at once when too large; the bytes
   * are counted as they arrive either way, and the upload is abandoned (nothing kept) past the limit.
   */
  async receive(body: Readable, name: string, declared?: number): Promise<Upload> {
    if (declared !== undefined && declared > this.maxBytes) throw this.tooLarge()
    if (this.entries.size + this.receiving.size >= this.maxPending)
      throw withCode(new TooManyUploadsError(''), 'upload.tooMany', { max: this.maxPending })
    if (this.pendingBytes + (declared ?? 0) > this.maxPendingBytes)
      throw withCode(new TooManyUploadsError(''), 'upload.tooMuchSpace')
    const id = randomBytes(18).toString('base64url')
    const folder = join(this.root(), id)
    const path = join(folder, safeName(name))
    this.receiving.add(id)
    let bytes = 0
    const max = this.maxBytes
    const tooLarge = (): Error => this.tooLarge()
    try {
      await mkdir(folder, { mode: 0o700 })
      await pipeline(
        body,
        new Transform({
          transform(chunk: Buffer, _enc, done) {
            bytes += chunk.length
            if (bytes > max) done(tooLarge())
            else done(null, chunk)
          }
        }),
        createWriteStream(path, { mode: 0o600 })
      )
    } catch (error) {
      await rm(folder, { recursive: true, force: true })
      throw error
    } finally {
      this.receiving.delete(id)
    }
    if (bytes === 0) {
      await rm(folder, { recursive: true, force: true })
      throw withCode(new UploadTooLargeError(''), 'upload.empty')
    }
    this.entries.set(id, { path, name, bytes, at: Date.now() })
    this.pendingBytes += bytes
    return { id, bytes }
  }

  /** The file behind `id` and the name it was sent with; throws when the id is unknown or expired. */
  get(id: string): { path: string; name: string } {
    const e = this.entries.get(id)
    if (!e) throw withCode(new UploadNotFoundError(''), 'upload.gone')
    return { path: e.path, name: e.name }
  }

  /** Forget and delete an upload (after its one use). */
  async release(id: string): Promise<void> {
    const e = this.entries.get(id)
    if (!e) return
    this.entries.delete(id)
    this.pendingBytes -= e.bytes
    await rm(join(this.root(), id), { recursive: true, force: true })
  }

  /** Uploads waiting to be used. */
  get size(): number {
    return this.entries.size
  }

  /** Deletes every upload and the folder. */
  dispose(): void {
    clearInterval(this.sweeper)
    this.entries.clear()
    this.pendingBytes = 0
    if (this.dir) rmSync(this.dir, { recursive: true, force: true })
    this.dir = null
  }

  private async sweep(): Promise<void> {
    const old = Date.now() - this.ttlMs
    for (const [id, e] of [...this.entries]) if (e.at < old) await this.release(id)
  }

  private root(): string {
    this.dir ??= mkdtempSync(join(tmpdir(), 'ts-uploads-'))
    return this.dir
  }

  private tooLarge(): UploadTooLargeError {
    return withCode(new UploadTooLargeError(''), 'upload.tooLarge', {
      mb: Math.round(this.maxBytes / 1024 / 1024)
    })
  }
}

/** The sent name as a plain file name in the upload's own folder (its extension tells the decoder the format). */
function safeName(name: string): string {
  return (
    basename(name.replaceAll('\\', '/'))
      .replace(/[^\w.-]/g, '_')
      .replace(/^\.+/, '')
      .slice(0, 200) || 'image'
  )
}
