// The serve transport end to end: a real server on a free port, a real `ws` client, real HTTP requests.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { EventEmitter } from 'node:events'
import { request } from 'node:http'
import WebSocket from 'ws'
import sharp from 'sharp'
import { startServer, type RunningServer } from '../../../src/main/server'
import type { ServedBackend } from '../../../src/main/server/dispatch'
import type { ServerMessage } from '../../../src/shared/ipc'
import type { ClassInfo } from '../../../src/shared/types'
import { tempDir } from '../../helpers'

/**
 * A small but real backend: classes live in memory, `classes:add` validates and emits `library-changed`,
 * and media renders a real PNG. It has the shape of `createBackend()`'s result for what the server uses.
 */
function memoryBackend(): ServedBackend & { listenerCount(): number } {
  const events = new EventEmitter()
  const classes: ClassInfo[] = []
  const handlers = {
    'classes:list': async () => classes,
    'classes:add': async (args: { name: string; key?: string }) => {
      if (typeof args.name !== 'string' || args.name.trim() === '') {
        const error = new Error('class name must not be empty')
        error.name = 'ValidationError'
        throw error
      }
      const info: ClassInfo = {
        id: classes.length + 1,
        key: args.key ?? args.name,
        name: args.name,
        position: classes.length,
        count: 0
      }
      classes.push(info)
      events.emit('library-changed', { reason: 'classes' })
      return info
    }
  }
  return {
    handlers: handlers as unknown as ServedBackend['handlers'],
    on(event, listener) {
      events.on(event, listener)
      return () => events.off(event, listener)
    },
    async media(kind, id) {
      if (id !== 1) {
        const error = new Error(`no image ${id}`)
        error.name = 'NotFoundError'
        throw error
      }
      const size = kind === 'thumb' ? 8 : 32
      const data = await sharp({ create: { width: size, height: size, channels: 3, background: '#c00' } })
        .png()
        .toBuffer()
      return { mime: 'image/png', data }
    },
    listenerCount: () => events.listenerCount('library-changed') + events.listenerCount('import-progress')
  }
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

describe('startServer', () => {
  let backend: ReturnType<typeof memoryBackend>
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
    backend = memoryBackend()
    server = await startServer({ backend, port: 0, host: '127.0.0.1', staticDir: renderer })
  })

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close()
    await server.close()
    tmp.remove()
  })

  it('prints a loopback URL carrying a long random token', async () => {
    expect(server.port).toBeGreaterThan(0)
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${server.token}`)
    expect(server.token).toMatch(/^[A-Za-z0-9_-]{32}$/)
    const other = await startServer({ backend: memoryBackend(), port: 0 })
    expect(other.token).not.toBe(server.token)
    await other.close()
  })

  it('refuses a non-loopback host unless remote access is allowed', async () => {
    await expect(startServer({ backend, host: '0.0.0.0' })).rejects.toThrow(/non-loopback/)
  })

  it('rejects the WebSocket with a wrong or missing token (401)', async () => {
    await expect(connect(server, { token: 'wrong' })).rejects.toThrow('HTTP 401')
    await expect(connect(server, { token: server.token.slice(1) })).rejects.toThrow('HTTP 401')
    await expect(connect(server, { token: '' })).rejects.toThrow('HTTP 401')
  })

  it('rejects the WebSocket from a foreign Origin (403) and accepts the page origin', async () => {
    await expect(connect(server, { origin: 'http://evil.example' })).rejects.toThrow('HTTP 403')
    await expect(connect(server, { origin: `http://127.0.0.1:${server.port + 1}` })).rejects.toThrow('HTTP 403')
    clients.push(await connect(server, { origin: `http://127.0.0.1:${server.port}` }))
    clients.push(await connect(server, { origin: `http://localhost:${server.port}` }))
  })

  it('round-trips a real call and carries handler errors as { name, message }', async () => {
    const ws = await connect(server, { origin: `http://127.0.0.1:${server.port}` })
    clients.push(ws)
    const added = await invoke(ws, { type: 'invoke', id: 1, channel: 'classes:add', args: { name: 'Stop' } })
    expect(added).toMatchObject({ type: 'result', id: 1, ok: true, result: { id: 1, name: 'Stop', key: 'Stop' } })
    const list = await invoke(ws, { type: 'invoke', id: 2, channel: 'classes:list', args: {} })
    expect(list).toMatchObject({ ok: true, result: [{ name: 'Stop' }] })
    const bad = await invoke(ws, { type: 'invoke', id: 3, channel: 'classes:add', args: { name: ' ' } })
    expect(bad).toEqual({
      type: 'result',
      id: 3,
      ok: false,
      error: { name: 'ValidationError', message: 'class name must not be empty' }
    })
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
    expect(list).toMatchObject({ ok: true, result: [] })
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
    expect(backend.listenerCount()).toBe(2)
    await server.close()
    expect(backend.listenerCount()).toBe(0)
  })

  it('serves media with the token, 401 without, 404 for unknown ids', async () => {
    const base = `http://127.0.0.1:${server.port}/media`
    const ok = await fetch(`${base}/thumb/1?token=${server.token}`)
    expect(ok.status).toBe(200)
    expect(ok.headers.get('content-type')).toBe('image/png')
    const meta = await sharp(Buffer.from(await ok.arrayBuffer())).metadata()
    expect([meta.format, meta.width]).toEqual(['png', 8])
    const full = await fetch(`${base}/full/1?token=${server.token}`)
    expect((await sharp(Buffer.from(await full.arrayBuffer())).metadata()).width).toBe(32)
    expect((await fetch(`${base}/thumb/1`)).status).toBe(401)
    expect((await fetch(`${base}/thumb/1?token=nope`)).status).toBe(401)
    expect((await fetch(`${base}/thumb/2?token=${server.token}`)).status).toBe(404)
    expect((await fetch(`${base}/other/1?token=${server.token}`)).status).toBe(404)
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
    for (const path of ['/../secret-outside.txt', '/..%2fsecret-outside.txt', '/assets/..%2f..%2fsecret-outside.txt']) {
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
