// Fetching one model file over HTTP(S) into its `.part` file: redirects followed (bounded), the SHA-256
// computed while the bytes stream in, and a broken connection resumed with a `Range` request (bounded
// retries, backoff, an idle timeout). A `.part` left by an earlier run is hashed once, streamed, and
// continued. The caller verifies the result and renames it into place; this module owns the `.part`: it
// deletes it on every failure except a connection that broke on a server that can resume, where it stays
// for the next download.
import { createHash, type Hash } from 'node:crypto'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { open, rm, stat, type FileHandle } from 'node:fs/promises'
import type { CatalogueEntry } from './catalogue'
import { HubError } from './errors'
import { hashFileInto, openRegularFile } from './files'

export interface DownloadProgress {
  id: string
  /** Bytes in hand so far (a resumed part included). */
  bytesDone: number
  /** The file's size from the catalogue. */
  bytesTotal: number
  /** Bytes per second over the last few seconds; 0 until there is a measure. */
  rate: number
  /** Seconds left at `rate`; null while the rate is unknown. */
  etaSeconds: number | null
  /** Which attempt this is, from 1. */
  attempt: number
}

export interface FetchSettings {
  /** Further attempts after the first, each resuming (or restarting) the file. */
  retries: number
  /** Wait before the first retry; doubles per retry, at most 10 s. */
  retryDelayMs: number
  /** A connection that sends nothing for this long is dropped and retried. */
  idleTimeoutMs: number
  /** Redirects followed per request. */
  maxRedirects: number
  /** Least time between two progress reports. */
  progressIntervalMs: number
}

export const DEFAULT_FETCH_SETTINGS: FetchSettings = {
  retries: 5,
  retryDelayMs: 1000,
  idleTimeoutMs: 30_000,
  maxRedirects: 5,
  progressIntervalMs: 100
}

export interface FetchResult {
  /** SHA-256 of the whole `.part`, lowercase hex. */
  sha256: string
  /** Bytes in the `.part`. */
  bytes: number
  /** True when bytes from an earlier attempt or run were kept and continued. */
  resumed: boolean
  /** Requests made (1 when nothing broke). */
  attempts: number
}

/** A failure that retrying cannot fix (HTTP 404, a size the catalogue contradicts): thrown at once. */
class Fatal extends Error {
  constructor(readonly error: HubError) {
    super(error.message)
  }
}

const MAX_RATE_WINDOW_MS = 3000

/**
 * Downloads `entry.url` into `part` until it holds `entry.bytes` bytes, and returns its digest. Throws a
 * HubError: `cancelled` when `signal` fires, `http` for an HTTP error, `size` when the server's file is not
 * the catalogue's size (or stays short with no way to resume), `network` when the retries run out.
 */
export async function fetchToPart(
  entry: CatalogueEntry,
  part: string,
  settings: FetchSettings,
  events: { signal?: AbortSignal; onProgress?: (p: DownloadProgress) => void } = {}
): Promise<FetchResult> {
  const { signal, onProgress } = events
  const total = entry.bytes
  let hash = createHash('sha256')
  let have = await continuePart(part, total, hash)
  let resumed = have > 0
  let attempts = 0
  let canResume = false
  /** The server's ETag (strong) or Last-Modified, so a resumed range comes from the same file. */
  let validator: string | undefined
  let lastFailure: Error | undefined

  const samples: [number, number][] = []
  let lastReport = 0
  const report = (force: boolean): void => {
    if (!onProgress) return
    const now = performance.now()
    if (!force && now - lastReport < settings.progressIntervalMs) return
    lastReport = now
    samples.push([now, have])
    while (samples.length > 2 && now - samples[0][0] > MAX_RATE_WINDOW_MS) samples.shift()
    const [t0, b0] = samples[0]
    const rate = now > t0 && have >= b0 ? ((have - b0) * 1000) / (now - t0) : 0
    onProgress({
      id: entry.id,
      bytesDone: have,
      bytesTotal: total,
      rate,
      etaSeconds: rate > 0 ? (total - have) / rate : have === total ? 0 : null,
      attempt: Math.max(1, attempts)
    })
  }
  const restart = async (): Promise<void> => {
    await rm(part, { force: true })
    hash = createHash('sha256')
    have = 0
    resumed = false
  }

  try {
    while (have < total) {
      if (attempts > settings.retries) {
        throw giveUp(entry, have, attempts, canResume, lastFailure)
      }
      if (attempts > 0) await sleep(Math.min(settings.retryDelayMs * 2 ** (attempts - 1), 10_000), signal)
      attempts++
      try {
        const res = await get(entry.url, have, validator, settings, signal)
        const start = acceptResponse(entry, res, have)
        if (res.statusCode === 206 || res.headers['accept-ranges'] === 'bytes') canResume = true
        validator = validatorOf(res) ?? validator
        if (start === 0 && have > 0) await restart()
        else if (start > 0) resumed = true
        report(true)
        const out = await open(part, 'a')
        try {
          for await (const chunk of res as AsyncIterable<Buffer>) {
            if (have + chunk.length > total) {
              throw new Fatal(
                new HubError(
                  'size',
                  `${entry.url} sends more than the ${total} bytes ${entry.id} is declared as`
                )
              )
            }
            await out.write(chunk)
            hash.update(chunk)
            have += chunk.length
            report(false)
          }
          await out.datasync()
        } finally {
          await out.close()
        }
        if (have < total) lastFailure = new Error(`the connection closed after ${have} of ${total} bytes`)
      } catch (e) {
        if (signal?.aborted) throw e
        if (e instanceof Fatal) throw e.error
        if (e instanceof RangeRefused) await restart()
        lastFailure = e as Error
      }
      report(true)
    }
  } catch (e) {
    const resumable = e instanceof HubError && e.code === 'network' && canResume && have > 0
    if (!resumable) await rm(part, { force: true })
    if (signal?.aborted) throw new HubError('cancelled', `download of ${entry.id} cancelled`)
    throw e
  }
  return { sha256: hash.digest('hex'), bytes: have, resumed, attempts }
}

/** What the retries ended with: a short file when nothing could resume it, else a broken connection. */
function giveUp(
  entry: CatalogueEntry,
  have: number,
  attempts: number,
  canResume: boolean,
  lastFailure: Error | undefined
): HubError {
  const why = lastFailure ? `: ${lastFailure.message}` : ''
  if (!canResume && have > 0) {
    return new HubError(
      'size',
      `${entry.url} sent only ${have} of ${entry.bytes} bytes in each of ${attempts} attempts, and the server ` +
        `cannot resume (no Range support); the file is refused${why}`
    )
  }
  return new HubError(
    'network',
    `download of ${entry.id} failed after ${attempts} attempts with ${have} of ${entry.bytes} bytes${why}` +
      (canResume && have > 0 ? '; the partial file is kept and the next download resumes it' : '')
  )
}

/**
 * Hashes a `.part` left by an earlier run and returns its length, so the download continues after it; a
 * part that is not a regular file or is longer than the model is removed instead.
 */
async function continuePart(part: string, total: number, hash: Hash): Promise<number> {
  const st = await stat(part).catch(() => null)
  if (!st) return 0
  if (!st.isFile() || st.size > total || st.size === 0) {
    await rm(part, { recursive: true, force: true })
    return 0
  }
  let handle: FileHandle | undefined
  try {
    handle = await openRegularFile(part)
    return await hashFileInto(handle, st.size, hash)
  } finally {
    await handle?.close()
  }
}

/**
 * Checks a response and returns the offset its body starts at: `have` for a 206 that continues the part, 0
 * for a 200 (a server that ignores Range sends the whole file again). Throws Fatal for what a retry cannot
 * fix, and a plain Error (retried) for server trouble.
 */
function acceptResponse(entry: CatalogueEntry, res: IncomingMessage, have: number): number {
  const status = res.statusCode ?? 0
  const total = entry.bytes
  const fatal = (msg: string): never => {
    res.resume()
    throw new Fatal(new HubError('size', msg))
  }
  if (status === 200) {
    const length = Number(res.headers['content-length'])
    if (res.headers['content-length'] !== undefined && length !== total) {
      fatal(`${entry.url} is ${length} bytes, but ${entry.id} is declared as ${total} bytes`)
    }
    return 0
  }
  if (status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? ''))
    if (!m || Number(m[1]) !== have) {
      res.resume()
      throw new Error(`the server answered the range request with "${res.headers['content-range'] ?? ''}"`)
    }
    if (m[3] !== '*' && Number(m[3]) !== total) {
      fatal(`${entry.url} is ${m[3]} bytes, but ${entry.id} is declared as ${total} bytes`)
    }
    return have
  }
  res.resume()
  if (status === 416) {
    // Our part does not fit the server's file: drop it and start over on the next attempt.
    throw new RangeRefused()
  }
  const text = `${status} ${res.statusMessage ?? ''}`.trim()
  if (status === 404 || status === 410) {
    throw new Fatal(new HubError('http', `${entry.url} was not found on the server (HTTP ${text})`))
  }
  if (status >= 500 || status === 408 || status === 429) throw new Error(`HTTP ${text}`)
  throw new Fatal(new HubError('http', `${entry.url}: the server refused the download (HTTP ${text})`))
}

class RangeRefused extends Error {
  constructor() {
    super('the server refused the range request (HTTP 416)')
  }
}

function validatorOf(res: IncomingMessage): string | undefined {
  const etag = res.headers['etag']
  if (typeof etag === 'string' && !etag.startsWith('W/')) return etag
  const modified = res.headers['last-modified']
  return typeof modified === 'string' ? modified : undefined
}

/** GET with `Range: bytes=<from>-` when resuming, following redirects; resolves at the final response. */
async function get(
  url: string,
  from: number,
  validator: string | undefined,
  settings: FetchSettings,
  signal: AbortSignal | undefined
): Promise<IncomingMessage> {
  let current = new URL(url)
  for (let hop = 0; ; hop++) {
    const headers: Record<string, string> = {
      'user-agent': 'transfer-studio',
      'accept-encoding': 'identity'
    }
    if (from > 0) {
      headers['range'] = `bytes=${from}-`
      if (validator) headers['if-range'] = validator
    }
    const res = await requestOnce(current, headers, settings.idleTimeoutMs, signal)
    const status = res.statusCode ?? 0
    const location = res.headers['location']
    if (status >= 300 && status < 400 && status !== 304 && location) {
      res.resume()
      if (hop >= settings.maxRedirects) {
        throw new Fatal(new HubError('http', `${url}: more than ${settings.maxRedirects} redirects`))
      }
      const next = new URL(location, current)
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new Fatal(
          new HubError('http', `${url} redirects to ${next.protocol} URL, which is not followed`)
        )
      }
      current = next
      continue
    }
    return res
  }
}

function requestOnce(
  url: URL,
  headers: Record<string, string>,
  idleTimeoutMs: number,
  signal: AbortSignal | undefined
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest
    const req = request(url, { method: 'GET', headers, signal })
    req.setTimeout(idleTimeoutMs, () => {
      const wait = idleTimeoutMs >= 1000 ? `${Math.round(idleTimeoutMs / 1000)} s` : `${idleTimeoutMs} ms`
      req.destroy(new Error(`no data from ${url.host} for ${wait}`))
    })
    req.once('response', resolve)
    req.once('error', reject)
    req.end()
  })
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
