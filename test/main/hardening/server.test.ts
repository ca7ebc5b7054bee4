// `serve` against hostile and clumsy clients, as a real child process on loopback: a frame that is not
// UTF-8, a message over the frame limit, a select-all of a million ids, files uploaded over HTTP with a
// size limit, and a client that sends 20,000 requests without reading a reply. The server must close only
// the offending socket, keep serving every other client, and stay bounded in memory.
import { fork, type ChildProcess } from 'node:child_process'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { request } from 'node:http'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { runCli } from '../../../src/main/cli'
import { MAX_FRAME_BYTES, MAX_IDS, MAX_UPLOAD_BYTES } from '../../../src/shared/limits'
import type { ServerMessage } from '../../../src/shared/ipc'
import { SHARED_DATA, linkEveryNthFrame, sharedDataAvailable, tempDir } from '../../helpers'

const CHILD = resolve(__dirname, 'serveChild.ts')

/** RSS of a process in bytes, from /proc (Linux). */
function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(m?.[1] ?? 0) * 1024
}

describe.skipIf(!sharedDataAvailable() || process.platform !== 'linux')('serve under abuse', () => {
  let tmp: ReturnType<typeof tempDir>
  let child: ChildProcess
  let url: URL
  let exited: number | null | undefined
  let output = ''

  beforeAll(async () => {
    tmp = tempDir()
    const images = linkEveryNthFrame(join(tmp.dir, 'images'), [1, 14], 5)
    const project = join(tmp.dir, 'p.tsproj')
    const quiet = { write: () => true } as unknown as NodeJS.WriteStream
    const data = join(tmp.dir, 'data')
    expect(
      await runCli(['import', images, '--project', project], { stdout: quiet, stderr: quiet, dataDir: data })
    ).toBe(0)
    child = fork(CHILD, ['serve', '--project', project, '--port', '0'], {
      execArgv: ['--import', 'jiti/register'],
      env: { ...process.env, TRANSFER_STUDIO_DATA_DIR: data },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc']
    })
    child.on('exit', (code) => (exited = code))
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()))
    for (let i = 0; i < 600 && !url; i++) {
      const m = /http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+/.exec(output)
      if (m) url = new URL(m[0])
      else await new Promise((r) => setTimeout(r, 50))
    }
    expect(url, output).toBeDefined()
  }, 60_000)

  afterAll(async () => {
    if (child && exited === undefined) {
      child.kill('SIGTERM')
      await new Promise((r) => child.once('exit', r))
    }
    tmp?.remove()
  })

  const token = (): string => url.searchParams.get('token')!

  function connect(): Promise<WebSocket> {
    const ws = new WebSocket(`ws://${url.host}/api?token=${token()}`, { maxPayload: 256 * 1024 * 1024 })
    return new Promise((res, rej) => (ws.once('open', () => res(ws)), ws.once('error', rej)))
  }
  /** One invoke and its result; rejects when the socket closes first (a dead server fails fast). */
  function invoke(ws: WebSocket, id: number, channel: string, args: unknown): Promise<ServerMessage> {
    return new Promise((res, rej) => {
      const onClose = (code: number): void => rej(new Error(`the socket closed (${code}) before reply ${id}`))
      const onMessage = (d: WebSocket.RawData): void => {
        const m = JSON.parse(d.toString()) as ServerMessage
        if (m.type === 'result' && m.id === id) {
          ws.off('message', onMessage)
          ws.off('close', onClose)
          res(m)
        }
      }
      ws.on('message', onMessage)
      ws.once('close', onClose)
      ws.send(JSON.stringify({ type: 'invoke', id, channel, args }))
    })
  }
  const closed = (ws: WebSocket): Promise<number> =>
    new Promise((res) => ws.once('close', (code) => res(code)))

  /** The server answers a fresh client: it is alive and serving. */
  async function stillServing(): Promise<void> {
    const ws = await connect()
    const reply = await invoke(ws, 1, 'library:stats', {})
    expect(reply).toMatchObject({ ok: true })
    ws.close()
    expect(exited, output).toBeUndefined()
  }

  it('closes only the socket that sends a frame that is not UTF-8 (1007)', async () => {
    const bystander = await connect()
    const bad = await connect()
    const code = closed(bad)
    bad.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false })
    expect(await code).toBe(1007)
    expect(await invoke(bystander, 7, 'library:stats', {})).toMatchObject({ ok: true })
    bystander.close()
    await stillServing()
  })

  it('closes only the socket that sends more than a frame (1009)', async () => {
    const bad = await connect()
    const code = closed(bad)
    bad.send('x'.repeat(MAX_FRAME_BYTES + 1))
    expect(await code).toBe(1009)
    await stillServing()
  })

  it('takes a select-all of a million ids in one message', async () => {
    const ws = await connect()
    const ids = Array.from({ length: MAX_IDS }, (_, i) => 1_000_000_000 + i)
    const reply = await invoke(ws, 2, 'library:setLabel', { imageIds: ids, classId: null })
    // The message reached the service, which names the first ids it does not know.
    expect(reply).toMatchObject({ ok: false, error: { message: expect.stringContaining('1000000000') } })
    expect(ws.readyState).toBe(WebSocket.OPEN)
    ws.close()
  })

  /** POST a body to /upload; the status and the text of the answer. */
  function upload(
    body: Buffer | null,
    opts: { name?: string; token?: string; origin?: string; length?: number; chunks?: number } = {}
  ): Promise<{ status: number; text: string }> {
    const q = new URLSearchParams({ token: opts.token ?? token(), name: opts.name ?? 'sign.ppm' })
    return new Promise((res, rej) => {
      const headers: Record<string, string | number> = {}
      if (opts.origin) headers['Origin'] = opts.origin
      if (opts.length !== undefined) headers['Content-Length'] = opts.length
      const req = request(`http://${url.host}/upload?${q}`, { method: 'POST', headers }, (r) => {
        let text = ''
        r.on('data', (d: Buffer) => (text += d.toString()))
        r.on('end', () => res({ status: r.statusCode ?? 0, text }))
        r.on('error', rej)
      })
      // The server may answer and close before the whole body is sent.
      req.on('error', () => res({ status: -1, text: '' }))
      if (opts.chunks) {
        const chunk = Buffer.alloc(1024 * 1024, 1)
        let sent = 0
        const pump = (): void => {
          while (sent < opts.chunks!) {
            sent++
            if (!req.write(chunk)) return void req.once('drain', pump)
          }
          req.end()
        }
        pump()
      } else req.end(body ?? undefined)
    })
  }

  it('takes uploads with the token and the page origin only, and refuses one past the limit', async () => {
    const dir = join(SHARED_DATA, 'gtsrb-train', '14')
    const file = join(dir, readdirSync(dir)[0])
    const bytes = readFileSync(file)
    const ok = await upload(bytes)
    expect(ok.status).toBe(200)
    expect(JSON.parse(ok.text)).toMatchObject({
      id: expect.stringMatching(/^[\w-]{16,64}$/),
      bytes: statSync(file).size
    })
    expect((await upload(bytes, { token: 'wrong' })).status).toBe(401)
    expect((await upload(bytes, { origin: 'http://evil.example' })).status).toBe(403)
    // Declared too large: refused before a byte is read.
    expect((await upload(null, { length: MAX_UPLOAD_BYTES + 1 })).status).toBe(413)
    // Not declared (chunked) and too large: counted while it streams.
    const streamed = await upload(null, { chunks: MAX_UPLOAD_BYTES / (1024 * 1024) + 2 })
    expect([413, -1]).toContain(streamed.status)
    // The uploaded file is named by its id; an unknown id is refused by the contract or the store.
    const ws = await connect()
    const bad = await invoke(ws, 3, 'training:predict', {
      runId: 1,
      files: [{ upload: 'x'.repeat(20), name: 'a.ppm' }]
    })
    expect(bad).toMatchObject({ ok: false })
    ws.close()
    await stillServing()
  }, 60_000)

  it('stops reading a client that sends 20,000 requests without reading, and stays bounded', async () => {
    const ws = await connect()
    const before = rss(child.pid!)
    // The client stops reading its socket: every reply stays unread.
    ws.pause()
    const N = 20_000
    const message = (id: number): string =>
      JSON.stringify({
        type: 'invoke',
        id,
        channel: 'library:query',
        args: { filter: {}, offset: 0, limit: 1000 }
      })
    for (let id = 1; id <= N; id++) ws.send(message(id))
    // Until the server has taken what it will take: no growth for 3 s (bounded: 60 s).
    let peak = before
    let lastGrowth = Date.now()
    for (let i = 0; i < 600 && Date.now() - lastGrowth < 3000; i++) {
      await new Promise((r) => setTimeout(r, 100))
      const now = rss(child.pid!)
      if (now > peak + 1024 * 1024) lastGrowth = Date.now()
      peak = Math.max(peak, now)
    }
    const growth = peak - before
    console.log(`serve RSS under 20,000 unread requests: +${(growth / 1024 / 1024).toFixed(1)} MB`)
    expect(growth).toBeLessThan(60 * 1024 * 1024)
    // Reading again, the client gets every reply, in order.
    let got = 0
    let last = 0
    let inOrder = true
    const done = new Promise<void>((res) =>
      ws.on('message', (d) => {
        const m = JSON.parse(d.toString()) as ServerMessage
        if (m.type !== 'result') return
        inOrder &&= m.id === last + 1
        last = m.id
        if (++got === N) res()
      })
    )
    ws.resume()
    await done
    expect(got).toBe(N)
    expect(inOrder).toBe(true)
    ws.close()
    await stillServing()
  }, 120_000)
})
