// The serve transport end to end: a real server on a free port, a real `ws` client, real HTTP requests.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'node:http'
import WebSocket from 'ws'
import sharp from 'sharp'
import { startServer, type RunningServer } from '../../../src/main/server'
import { createBackend, type Backend } from '../../../src/main/backend'
import type { ServedBackend } from '../../../src/main/server/dispatch'
import { EVENTS, type ServerMessage } from '../../../src/shared/ipc'
import { SHARED_DATA, sharedDataAvailable, tempDir } from '../../helpers'

/** A real backend on a temporary project holding a few real GTSRB images (two classes). */
async function realBackend(dir: string): Promise<{ backend: Backend; imageId: number }> {
  const images = join(dir, 'images')
  for (const cls of ['1', '14']) {
    mkdirSync(join(images, cls), { recursive: true })
    const source = join(SHARED_DATA, 'gtsrb-train', cls)
    for (const file of readdirSync(source).slice(0, 3))
      copyFileSync(join(source, file), join(images, cls, file))
  }
  const backend = createBackend({ dataDir: join(dir, 'data'), projectPath: join(dir, 'p.tsproj') })
  const summary = await backend.handlers['library:import']({ folder: images, labels: 'folders' })
  expect(summary.imported).toBe(6)
  const page = await backend.handlers['library:query']({ filter: {}, offset: 0, limit: 1 })
  return { backend, imageId: page.items[0].id }
}

function connect(server: RunningServer, opts: { token?: string; origin?: string } = {}): Promise<WebSocket> {
  const token = opts.token ?? server.token
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api?token=${encodeURIComponent(token)}`, {
    origin: opts.origin
  })
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws))
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)))
    ws.once('error', reject)
  })
}

/** Send one invoke and wait for its result message. */
function invoke(ws: WebSocket, message: unknown): Promise<ServerMessage> {
  const id = (message as { id?: number }).id
  return new Promise((resolve) => {
    const onMessage = (data: WebSocket.RawData): void => {
      const reply = JSON.parse(data.toString()) as ServerMessage
      if (reply.type === 'result' && (reply.id === id || id === undefined)) {
        ws.off('message', onMessage)
        resolve(reply)
      }
    }
    ws.on('message', onMessage)
    ws.send(typeof message === 'string' ? message : JSON.stringify(message))
  })
}

describe.skipIf(!sharedDataAvailable())('startServer', () => {
  let backend: Backend
  let imageId: number
  let server: RunningServer
  let tmp: ReturnType<typeof tempDir>
  const clients: WebSocket[] = []

  beforeEach(async () => {
    tmp = tempDir()
    const renderer = join(tmp.dir, 'renderer')
    mkdirSync(join(renderer, 'assets'), { recursive: true })
    writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>studio</title>')
    writeFileSync(join(renderer, 'assets', 'app.js'), 'console.log(1)')
    writeFileSync(join(tmp.dir, 'secret-outside.txt'), 'secret')
    ;({ backend, imageId } = await realBackend(tmp.dir))
    server = await startServer({ backend, port: 0, host: '127.0.0.1', staticDir: renderer })
  })

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close()
    await server.close()
    await backend.dispose()
    tmp.remove()
  })

  it('prints a loopback URL carrying a long random token', async () => {
    expect(server.port).toBeGreaterThan(0)
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${server.token}`)
    expect(server.token).toMatch(/^[A-Za-z0-9_-]{32}$/)
    const other = await startServer({ backend, port: 0 })
    expect(other.token).not.toBe(server.token)
    await other.close()
  })

  it('refuses a non-loopback host unless remote access is allowed', async () => {
    await expect(startServer({ backend, host: '0.0.0.0' })).rejects.toThrow(/non-loopback/)
  })

  it('with allowRemote, accepts its own page origin on any interface and still needs the token', async () => {
    const remote = await startServer({ backend, port: 0, host: '0.0.0.0', allowRemote: true })
    try {
      // Reach it by a non-loopback name, as another machine would (the Host header carries the name).
      const host = `192.0.2.10:${remote.port}`
      const open = (origin: string, token: string): Promise<number> =>
        new Promise((resolve) => {
          const ws = new WebSocket(`ws://127.0.0.1:${remote.port}/api?token=${token}`, {
            origin,
            headers: { host }
          })
          ws.once('open', () => (ws.close(), resolve(101)))
          ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
        })
      expect(await open(`http://${host}`, remote.token)).toBe(101)
      expect(await open('http://evil.example', remote.token)).toBe(403)
      expect(await open(`http://${host}`, 'wrong')).toBe(401)
      const page = await rawGet(remote.port, '/media/thumb/1', host)
      expect(page.status).toBe(401)
    } finally {
      await remote.close()
    }
  })

  it('rejects the WebSocket with a wrong or missing token (401)', async () => {
    await expect(connect(server, { token: 'wrong' })).rejects.toThrow('HTTP 401')
    await expect(connect(server, { token: server.token.slice(1) })).rejects.toThrow('HTTP 401')
    await expect(connect(server, { token: '' })).rejects.toThrow('HTTP 401')
  })

  it('rejects the WebSocket from a foreign Origin (403) and accepts the page origin', async () => {
    await expect(connect(server, { origin: 'http://evil.example' })).rejects.toThrow('HTTP 403')
    await expect(connect(server, { origin: `http://127.0.0.1:${server.port + 1}` })).rejects.toThrow(
      'HTTP 403'
    )
    clients.push(await connect(server, { origin: `http://127.0.0.1:${server.port}` }))
    clients.push(await connect(server, { origin: `http://localhost:${server.port}` }))
  })

  it('round-trips a real call and carries handler errors as { name, message }', async () => {
    const ws = await connect(server, { origin: `http://127.0.0.1:${server.port}` })
    clients.push(ws)
    const added = await invoke(ws, {
      type: 'invoke',
      id: 1,
      channel: 'classes:add',
      args: { name: 'Speed 50' }
    })
    expect(added).toMatchObject({ type: 'result', id: 1, ok: true, result: { name: 'Speed 50', count: 0 } })
    const list = await invoke(ws, { type: 'invoke', id: 2, channel: 'classes:list', args: {} })
    expect(
      list.type === 'result' && list.ok && (list.result as { name: string }[]).map((c) => c.name).sort()
    ).toEqual(['1', '14', 'Speed 50'])
    const stats = await invoke(ws, { type: 'invoke', id: 3, channel: 'library:stats', args: {} })
    expect(stats).toMatchObject({ ok: true, result: { images: 6, labelled: 6 } })
    const bad = await invoke(ws, { type: 'invoke', id: 4, channel: 'classes:add', args: { name: 42 } })
    expect(bad).toMatchObject({ type: 'result', id: 4, ok: false, error: { name: 'ValidationError' } })
    expect(Object.keys((bad as { error: object }).error).sort()).toEqual(['message', 'name'])
  })

  it('rejects unknown channels, non-object args and malformed messages without calling the backend', async () => {
    const ws = await connect(server)
    clients.push(ws)
    const unknown = await invoke(ws, { type: 'invoke', id: 7, channel: 'fs:readFile', args: {} })
    expect(unknown).toMatchObject({ id: 7, ok: false, error: { name: 'BadRequestError' } })
    expect((unknown as { error: { message: string } }).error.message).toMatch(/unknown channel/)
    const proto = await invoke(ws, { type: 'invoke', id: 8, channel: 'constructor', args: {} })
    expect(proto).toMatchObject({ id: 8, ok: false, error: { name: 'BadRequestError' } })
    const arrayArgs = await invoke(ws, { type: 'invoke', id: 9, channel: 'classes:add', args: ['Stop'] })
    expect(arrayArgs).toMatchObject({ id: 9, ok: false, error: { message: /plain object/ } })
    const notJson = await invoke(ws, 'not json{')
    expect(notJson).toMatchObject({ id: -1, ok: false, error: { message: /not valid JSON/ } })
    const list = await invoke(ws, { type: 'invoke', id: 10, channel: 'classes:list', args: {} })
    expect(list).toMatchObject({ ok: true, result: [{}, {}] })
  })

  it('broadcasts backend events to every client and unsubscribes on close', async () => {
    const a = await connect(server)
    const b = await connect(server)
    clients.push(a, b)
    const eventOn = (ws: WebSocket): Promise<ServerMessage> =>
      new Promise((resolve) =>
        ws.on('message', (data) => {
          const m = JSON.parse(data.toString()) as ServerMessage
          if (m.type === 'event') resolve(m)
        })
      )
    const [ea, eb] = [eventOn(a), eventOn(b)]
    await invoke(a, { type: 'invoke', id: 1, channel: 'classes:add', args: { name: 'Yield' } })
    const expected = { type: 'event', event: 'library-changed', payload: { reason: 'classes' } }
    expect(await ea).toEqual(expected)
    expect(await eb).toEqual(expected)
  })

  it('unsubscribes from the backend on close', async () => {
    let active = 0
    const counting: ServedBackend = {
      handlers: backend.handlers,
      media: (kind, id) => backend.media(kind, id),
      uploads: backend.uploads,
      on(event, listener) {
        active++
        const off = backend.on(event, listener)
        return () => {
          active--
          off()
        }
      }
    }
    const other = await startServer({ backend: counting, port: 0 })
    expect(active).toBe(EVENTS.length)
    await other.close()
    expect(active).toBe(0)
  })

  it('serves media with the token, 401 without, 404 for unknown ids', async () => {
    const base = `http://127.0.0.1:${server.port}/media`
    const ok = await fetch(`${base}/thumb/${imageId}?token=${server.token}`)
    expect(ok.status).toBe(200)
    const thumbType = ok.headers.get('content-type') ?? ''
    expect(thumbType).toMatch(/^image\//)
    const thumb = await sharp(Buffer.from(await ok.arrayBuffer())).metadata()
    expect(thumbType).toContain(thumb.format === 'jpeg' ? 'jpeg' : thumb.format)
    const detail = await backend.handlers['library:image']({ id: imageId })
    const full = await fetch(`${base}/full/${imageId}?token=${server.token}`)
    expect(full.headers.get('content-type')).toBe('image/png')
    const fullMeta = await sharp(Buffer.from(await full.arrayBuffer())).metadata()
    expect([fullMeta.format, fullMeta.width, fullMeta.height]).toEqual(['png', detail.width, detail.height])
    expect((await fetch(`${base}/thumb/${imageId}`)).status).toBe(401)
    expect((await fetch(`${base}/thumb/${imageId}?token=nope`)).status).toBe(401)
    expect((await fetch(`${base}/thumb/999999?token=${server.token}`)).status).toBe(404)
    expect((await fetch(`${base}/other/${imageId}?token=${server.token}`)).status).toBe(404)
  })

  it('serves the static page with a strict CSP and nothing outside the renderer folder', async () => {
    const page = await fetch(`http://127.0.0.1:${server.port}/`)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('<title>studio</title>')
    const csp = page.headers.get('content-security-policy') ?? ''
    expect(csp).toContain("default-src 'self'")
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain(`ws://127.0.0.1:${server.port}`)
    expect(csp).toContain('img-src ')
    expect(csp).not.toMatch(/script-src[^;]*unsafe/)
    const js = await fetch(`http://127.0.0.1:${server.port}/assets/app.js`)
    expect(js.headers.get('content-type')).toMatch(/javascript/)
    // Raw requests: fetch() would normalise the `..` away before sending.
    for (const path of [
      '/../secret-outside.txt',
      '/..%2fsecret-outside.txt',
      '/assets/..%2f..%2fsecret-outside.txt'
    ]) {
      const escape = await rawGet(server.port, path)
      expect([403, 404]).toContain(escape.status)
      expect(escape.body).not.toBe('secret')
    }
    expect((await rawGet(server.port, '/assets/app.js')).body).toBe('console.log(1)')
  })

  it('answers only to loopback Host headers (DNS rebinding)', async () => {
    expect((await rawGet(server.port, '/', `evil.example:${server.port}`)).status).toBe(403)
    expect((await rawGet(server.port, '/', `localhost:${server.port}`)).status).toBe(200)
  })
})

function rawGet(port: number, path: string, host?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: host ? { host } : {} }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}
