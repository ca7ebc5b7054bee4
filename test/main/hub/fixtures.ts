// What the hub tests share: a real HTTP server on 127.0.0.1 whose behaviour each test scripts (cut the
// connection, ignore Range, stall, redirect), a model file with its digest, and a catalogue in a temp file.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createHash, randomBytes } from 'node:crypto'
import { readdirSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import type { CatalogueEntry } from '../../../src/main/hub'

/** One request as the server saw it. */
export interface SeenRequest {
  url: string
  range: string | undefined
}

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  origin: string
  requests: SeenRequest[]
  close(): Promise<void>
}

export type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void

/** Starts a server on a free loopback port; `handler` gets each request and its number (from 0). */
export async function startServer(handler: Handler): Promise<TestServer> {
  const requests: SeenRequest[] = []
  const server: Server = createServer((req, res) => {
    const n = requests.length
    requests.push({ url: req.url ?? '', range: req.headers['range'] })
    handler(req, res, n)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

/** A model file: random bytes and their SHA-256. */
export function modelBytes(size = 256 * 1024): { data: Buffer; sha256: string; prefix: string } {
  const data = randomBytes(size)
  const sha256 = createHash('sha256').update(data).digest('hex')
  return { data, sha256, prefix: sha256.slice(0, 8) }
}

/**
 * Serves `data` the way a good server does: 200 with Content-Length and Accept-Ranges, or 206 for
 * `Range: bytes=N-`. With `cutAt`, the body stops after that many bytes of the file and the socket is
 * destroyed (a broken connection).
 */
export function serveFile(
  res: ServerResponse,
  req: IncomingMessage,
  data: Buffer,
  opts: { ranges?: boolean; cutAt?: number } = {}
): void {
  const ranges = opts.ranges ?? true
  const m = /^bytes=(\d+)-$/.exec(req.headers['range'] ?? '')
  let start = 0
  if (ranges && m) {
    start = Number(m[1])
    if (start >= data.length) {
      res.writeHead(416, { 'content-range': `bytes */${data.length}` })
      res.end()
      return
    }
    res.writeHead(206, {
      'content-length': data.length - start,
      'content-range': `bytes ${start}-${data.length - 1}/${data.length}`,
      'accept-ranges': 'bytes',
      etag: '"v1"'
    })
  } else {
    res.writeHead(200, {
      'content-length': data.length,
      ...(ranges ? { 'accept-ranges': 'bytes', etag: '"v1"' } : {})
    })
  }
  if (opts.cutAt !== undefined && opts.cutAt >= start) {
    res.write(data.subarray(start, opts.cutAt), () => {
      // Let the bytes reach the client before the connection drops.
      setTimeout(() => res.socket?.destroy(), 20)
    })
    return
  }
  res.end(data.subarray(start))
}

/** A catalogue entry for a test model, served from `url`. */
export function entry(
  over: Partial<CatalogueEntry> & Pick<CatalogueEntry, 'id' | 'url' | 'bytes'>
): CatalogueEntry {
  return {
    name: `Test model ${over.id}`,
    architecture: 'tinynet',
    format: 'torchvision-pth',
    sha256: null,
    input_size: 224,
    imagenet_top1: null,
    params: null,
    macs: null,
    licence: 'test data',
    ...over
  }
}

export function writeCatalogue(dir: string, entries: unknown): string {
  const file = join(dir, 'catalogue.json')
  writeFileSync(file, JSON.stringify(entries, null, 2))
  return file
}

/** Every file under `dir`, relative to it, sorted (an empty list: the cache holds nothing). */
export function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((d) => !d.isDirectory())
      .map((d) => relative(dir, join(d.parentPath, d.name)))
      .sort()
  } catch {
    return []
  }
}

/** Resolves when `check` holds, polling; rejects after `ms`. */
export async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 10))
  }
}
