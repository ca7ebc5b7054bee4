// The model hub against a real HTTP server on 127.0.0.1 (no test reaches the internet): full downloads,
// Range resume after a broken connection, HTTP errors, wrong hashes, short files, cancel, import, remove.
// Each test owns a temporary cache (TS_MODEL_DIR) and catalogue (TS_MODEL_CATALOGUE) and removes them.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { HubError, ModelHubService, modelPaths, type CatalogueEntry } from '../../../src/main/hub'
import type { DownloadProgress } from '../../../src/main/hub'
import { NotFoundError } from '../../../src/main/errors'
import { tempDir } from '../../helpers'
import {
  entry,
  filesUnder,
  modelBytes,
  serveFile,
  startServer,
  until,
  writeCatalogue,
  type Handler,
  type TestServer
} from './fixtures'

const FAST = { retries: 3, retryDelayMs: 5, idleTimeoutMs: 2000, progressIntervalMs: 0 }

describe('ModelHubService', () => {
  let tmp: ReturnType<typeof tempDir>
  let cache: string
  let server: TestServer | undefined
  const model = modelBytes()

  beforeEach(() => {
    tmp = tempDir('ts-hub-')
    cache = join(tmp.dir, 'cache')
  })
  afterEach(async () => {
    await server?.close()
    server = undefined
    tmp.remove()
  })

  /** A hub whose catalogue file (TS_MODEL_CATALOGUE) holds `entries`, caching in TS_MODEL_DIR. */
  function hubWith(entries: CatalogueEntry[], fetch: object = FAST): ModelHubService {
    const env = { TS_MODEL_CATALOGUE: writeCatalogue(tmp.dir, entries), TS_MODEL_DIR: cache }
    return new ModelHubService({ env, fetch })
  }

  async function serve(handler: Handler): Promise<string> {
    server = await startServer(handler)
    return server.origin
  }

  /** The catalogue entry for `model` at `path` on the server (its name carries the hash prefix). */
  const tiny = (origin: string, over: Partial<CatalogueEntry> = {}): CatalogueEntry =>
    entry({
      id: 'tiny',
      url: `${origin}/models/tiny-${model.prefix}.pth`,
      bytes: model.data.length,
      sha256: model.sha256,
      ...over
    })

  async function refusal(p: Promise<unknown>): Promise<HubError> {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err
    )
    expect(e).toBeInstanceOf(HubError)
    return e as HubError
  }

  it('downloads a model, verifies it and lists it as downloaded', async () => {
    const origin = await serve((req, res) => serveFile(res, req, model.data))
    const hub = hubWith([tiny(origin)])
    expect((await hub.list())[0]).toMatchObject({ id: 'tiny', downloaded: false, partialBytes: 0 })

    const events: DownloadProgress[] = []
    const r = await hub.download('tiny', { onProgress: (p) => events.push(p) })
    expect(r).toMatchObject({
      id: 'tiny',
      bytes: model.data.length,
      sha256: model.sha256,
      alreadyPresent: false,
      resumed: false,
      attempts: 1
    })
    expect(r.checks).toEqual(['size', 'sha256', 'hash-prefix'])
    expect(r.path).toBe(join(cache, 'tiny', `tiny-${model.prefix}.pth`))
    expect(readFileSync(r.path).equals(model.data)).toBe(true)
    expect(filesUnder(cache)).toEqual([`tiny/tiny-${model.prefix}.pth`])

    expect(events.length).toBeGreaterThan(1)
    const done = events.map((e) => e.bytesDone)
    expect(done).toEqual([...done].sort((a, b) => a - b))
    expect(events.at(-1)).toMatchObject({
      bytesDone: model.data.length,
      bytesTotal: model.data.length,
      etaSeconds: 0
    })
    for (const e of events) expect(e.rate).toBeGreaterThanOrEqual(0)

    const listed = (await hub.list())[0]
    expect(listed).toMatchObject({ downloaded: true, path: r.path, bytes: model.data.length })
    const again = await hub.download('tiny')
    expect(again).toMatchObject({ alreadyPresent: true, path: r.path })
    expect(server?.requests).toHaveLength(1)
  })

  it('resumes with a Range request after the server cuts the connection halfway', async () => {
    const half = model.data.length / 2
    const origin = await serve((req, res, n) =>
      serveFile(res, req, model.data, n === 0 ? { cutAt: half } : {})
    )
    const hub = hubWith([tiny(origin)])
    const r = await hub.download('tiny')
    expect(server?.requests.map((q) => q.range)).toEqual([undefined, `bytes=${half}-`])
    expect(r).toMatchObject({ resumed: true, attempts: 2, sha256: model.sha256 })
    expect(readFileSync(r.path).equals(model.data)).toBe(true)
    expect(filesUnder(cache)).toEqual([`tiny/tiny-${model.prefix}.pth`])
  })

  it('keeps the part of a download that ran out of retries and resumes it next time', async () => {
    const cut = 100_000
    let broken = true
    const origin = await serve((req, res) => serveFile(res, req, model.data, broken ? { cutAt: cut } : {}))
    const hub = hubWith([tiny(origin)], { ...FAST, retries: 1 })
    const e = await refusal(hub.download('tiny'))
    expect(e.code).toBe('network')
    expect(e.message).toMatch(/after 2 attempts.*partial file is kept/)
    const paths = modelPaths(cache, tiny(origin))
    expect(readFileSync(paths.part).length).toBe(cut)
    expect((await hub.list())[0]).toMatchObject({ downloaded: false, partialBytes: cut })

    broken = false
    const before = server?.requests.length ?? 0
    const r = await hub.download('tiny')
    expect(server?.requests[before].range).toBe(`bytes=${cut}-`)
    expect(r).toMatchObject({ resumed: true, sha256: model.sha256 })
    expect(existsSync(paths.part)).toBe(false)
  })

  it('says clearly when the server has no such file (404) and keeps nothing', async () => {
    const origin = await serve((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/plain' })
      res.end('no such file')
    })
    const hub = hubWith([tiny(origin)])
    const e = await refusal(hub.download('tiny'))
    expect(e.code).toBe('http')
    expect(e.message).toBe(`${tiny(origin).url} was not found on the server (HTTP 404 Not Found)`)
    expect(server?.requests).toHaveLength(1)
    expect(filesUnder(cache)).toEqual([])
  })

  it('refuses a file whose SHA-256 is wrong and leaves nothing in the cache', async () => {
    const other = modelBytes(model.data.length)
    const origin = await serve((req, res) => serveFile(res, req, other.data))
    // No prefix in this name, so the full digest is what catches it.
    const hub = hubWith([tiny(origin, { url: `${origin}/models/tiny.pth` })])
    const e = await refusal(hub.download('tiny'))
    expect(e.code).toBe('hash')
    expect(e.message).toContain(`SHA-256 ${other.sha256} is not tiny's (expected ${model.sha256})`)
    expect(filesUnder(cache)).toEqual([])
    expect(existsSync(join(cache, 'tiny'))).toBe(false)
  })

  it('checks the hash prefix in a torchvision-style file name when there is no full hash', async () => {
    const origin = await serve((req, res) => serveFile(res, req, model.data))
    const wrong = model.prefix === 'deadbeef' ? 'cafef00d' : 'deadbeef'
    const hub = hubWith([
      tiny(origin, { id: 'good', sha256: null }),
      tiny(origin, { id: 'bad', sha256: null, url: `${origin}/models/tiny-${wrong}.pth` })
    ])
    expect((await hub.download('good')).checks).toEqual(['size', 'hash-prefix'])
    const e = await refusal(hub.download('bad'))
    expect(e.code).toBe('hash')
    expect(e.message).toContain(`does not start with "${wrong}", the hash in bad's file name`)
    expect(filesUnder(cache)).toEqual([`good/tiny-${model.prefix}.pth`])
  })

  it('refuses a short file from a server that closes early and cannot resume', async () => {
    const half = model.data.length / 2
    const origin = await serve((req, res) => serveFile(res, req, model.data, { ranges: false, cutAt: half }))
    const hub = hubWith([tiny(origin)], { ...FAST, retries: 2 })
    const e = await refusal(hub.download('tiny'))
    expect(e.code).toBe('size')
    expect(e.message).toMatch(
      new RegExp(`sent only ${half} of ${model.data.length} bytes in each of 3 attempts`)
    )
    // Every retry asked to resume; the server ignored Range and started over each time.
    expect(server?.requests.map((q) => q.range)).toEqual([undefined, `bytes=${half}-`, `bytes=${half}-`])
    expect(filesUnder(cache)).toEqual([])
  })

  it('refuses at once a file the server announces with another size', async () => {
    const origin = await serve((req, res) => serveFile(res, req, model.data.subarray(0, 1000)))
    const hub = hubWith([tiny(origin)])
    const e = await refusal(hub.download('tiny'))
    expect(e.code).toBe('size')
    expect(e.message).toContain(`is 1000 bytes, but tiny is declared as ${model.data.length} bytes`)
    expect(server?.requests).toHaveLength(1)
    expect(filesUnder(cache)).toEqual([])
  })

  it('cancels a slow download with an AbortSignal and leaves nothing', async () => {
    const timers: NodeJS.Timeout[] = []
    const origin = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': model.data.length, 'accept-ranges': 'bytes' })
      let at = 0
      const tick = (): void => {
        if (res.destroyed || at >= model.data.length) return
        res.write(model.data.subarray(at, at + 4096))
        at += 4096
        timers.push(setTimeout(tick, 50))
      }
      tick()
    })
    const hub = hubWith([tiny(origin)])
    const controller = new AbortController()
    let seen = 0
    const t0 = Date.now()
    const running = hub.download('tiny', {
      signal: controller.signal,
      onProgress: (p) => void (seen = p.bytesDone)
    })
    await until(() => seen > 0)
    controller.abort()
    const e = await refusal(running)
    timers.forEach(clearTimeout)
    expect(e.code).toBe('cancelled')
    expect(Date.now() - t0).toBeLessThan(4000)
    expect(filesUnder(cache)).toEqual([])
    expect(existsSync(join(cache, 'tiny'))).toBe(false)
    // A cancelled signal refuses before anything starts.
    expect((await refusal(hub.download('tiny', { signal: AbortSignal.abort() }))).code).toBe('cancelled')
  })

  it('drops a stalled connection after the idle timeout', async () => {
    const origin = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': model.data.length })
      res.write(model.data.subarray(0, 1000))
    })
    const hub = hubWith([tiny(origin)], { ...FAST, retries: 1, idleTimeoutMs: 200 })
    const e = await refusal(hub.download('tiny'))
    expect(e.message).toMatch(/no data from 127\.0\.0\.1:\d+ for 200 ms|sent only 1000/)
    expect(server?.requests).toHaveLength(2)
    expect(filesUnder(cache)).toEqual([])
  })

  it('follows redirects, but not forever', async () => {
    const origin = await serve((req, res) => {
      if (req.url === '/loop.pth') {
        res.writeHead(302, { location: '/loop.pth' })
        res.end()
      } else if (req.url?.startsWith('/models/')) {
        res.writeHead(301, { location: `/files/${req.url.slice('/models/'.length)}` })
        res.end()
      } else serveFile(res, req, model.data)
    })
    const hub = hubWith([tiny(origin), tiny(origin, { id: 'loop', url: `${origin}/loop.pth` })])
    expect((await hub.download('tiny')).sha256).toBe(model.sha256)
    const e = await refusal(hub.download('loop'))
    expect(e.message).toMatch(/more than 5 redirects/)
  })

  it('checks a BVLC file by size and structure, since it has no hash', async () => {
    const origin = await serve((req, res) => serveFile(res, req, model.data))
    const bvlc = tiny(origin, {
      id: 'bvlc',
      format: 'bvlc-npy',
      sha256: null,
      url: `${origin}/bvlc-alexnet.npy`
    })
    const e = await refusal(hubWith([bvlc]).download('bvlc'))
    expect(e.code).toBe('structure')
    expect(e.message).toMatch(/is not a BVLC AlexNet weights file/)
    expect(filesUnder(cache)).toEqual([])
  })

  it('imports a file downloaded elsewhere, verified against the entry of its architecture', async () => {
    const hub = hubWith([
      tiny('http://mirror.invalid'),
      tiny('http://mirror.invalid', { id: 'other', architecture: 'bignet' })
    ])
    const file = join(tmp.dir, `tiny-${model.prefix}.pth`)
    writeFileSync(file, model.data)
    const r = await hub.importFile(file, { architecture: 'tinynet' })
    expect(r).toMatchObject({ id: 'tiny', sha256: model.sha256, checks: ['size', 'sha256', 'hash-prefix'] })
    expect(readFileSync(r.path).equals(model.data)).toBe(true)
    expect((await hub.list()).find((m) => m.id === 'tiny')?.downloaded).toBe(true)
    expect(filesUnder(cache)).toEqual([`tiny/tiny-${model.prefix}.pth`])
  })

  it('refuses imports that are not the catalogue file, and keeps nothing of them', async () => {
    const hub = hubWith([tiny('http://mirror.invalid')])
    const same = join(tmp.dir, 'same-size.pth')
    writeFileSync(same, modelBytes(model.data.length).data)
    expect((await refusal(hub.importFile(same, { architecture: 'tinynet' }))).code).toBe('hash')

    const bigger = join(tmp.dir, 'bigger.pth')
    writeFileSync(bigger, Buffer.concat([model.data, Buffer.alloc(1)]))
    const big = await refusal(hub.importFile(bigger, { architecture: 'tinynet' }))
    expect(big.message).toContain(`is ${model.data.length + 1} bytes, which fits no tinynet model`)

    const folder = join(tmp.dir, 'folder.pth')
    mkdirSync(folder)
    expect((await refusal(hub.importFile(folder, { architecture: 'tinynet' }))).code).toBe('not-a-file')
    if (process.platform !== 'win32') {
      const fifo = join(tmp.dir, 'fifo.pth')
      execFileSync('mkfifo', [fifo])
      expect((await refusal(hub.importFile(fifo, { architecture: 'tinynet' }))).code).toBe('not-a-file')
    }
    const unknown = await refusal(hub.importFile(same, { architecture: 'vgg16' }))
    expect(unknown.message).toBe('no model in the catalogue has architecture "vgg16" (known: tinynet)')
    expect(filesUnder(cache)).toEqual([])
  })

  it('removes a model and its folder', async () => {
    const hub = hubWith([tiny('http://mirror.invalid')])
    const file = join(tmp.dir, 'tiny.pth')
    writeFileSync(file, model.data)
    await hub.importFile(file, { architecture: 'tinynet', id: 'tiny' })
    expect(await hub.remove('tiny')).toEqual({ id: 'tiny', removed: true })
    expect(existsSync(join(cache, 'tiny'))).toBe(false)
    expect(await hub.remove('tiny')).toEqual({ id: 'tiny', removed: false })
    await expect(hub.remove('nope')).rejects.toThrow(NotFoundError)
    await expect(hub.download('nope')).rejects.toThrow('no model "nope" in the catalogue (known: tiny)')
  })

  it('refuses a second download of the same model while one runs', async () => {
    let release: () => void = () => {}
    const origin = await serve((req, res) => {
      res.writeHead(200, { 'content-length': model.data.length })
      res.write(model.data.subarray(0, 1000))
      release = () => res.end(model.data.subarray(1000))
    })
    const hub = hubWith([tiny(origin)])
    const first = hub.download('tiny')
    await until(() => (server?.requests.length ?? 0) > 0)
    expect((await refusal(hub.download('tiny'))).code).toBe('busy')
    expect((await refusal(hub.remove('tiny'))).code).toBe('busy')
    release()
    expect((await first).sha256).toBe(model.sha256)
  })

  it("respects another process's download lock, and takes over a crashed one's", async () => {
    const origin = await serve((req, res) => serveFile(res, req, model.data))
    const hub = hubWith([tiny(origin)])
    const paths = modelPaths(cache, tiny(origin))
    mkdirSync(paths.folder, { recursive: true })
    writeFileSync(paths.lock, String(process.ppid))
    const busy = await refusal(hub.download('tiny'))
    expect(busy.code).toBe('busy')
    expect(busy.message).toContain(`(by process ${process.ppid})`)
    expect((await refusal(hub.remove('tiny'))).code).toBe('busy')
    expect(server?.requests).toHaveLength(0)

    const gone = spawnSync(process.execPath, ['-e', '0']).pid
    writeFileSync(paths.lock, String(gone))
    expect((await hub.download('tiny')).sha256).toBe(model.sha256)
    expect(filesUnder(cache)).toEqual([`tiny/tiny-${model.prefix}.pth`])
  })
})
