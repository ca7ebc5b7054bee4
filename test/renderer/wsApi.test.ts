// @vitest-environment happy-dom
// The browser API client against the real backend and WebSocket server (happy-dom's WebSocket is `ws`).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { join } from 'node:path'
import { createBackend, type Backend } from '../../src/main/backend'
import { startServer, type RunningServer } from '../../src/main/server'
import { createWsApi, RemoteError, type WsApi } from '@renderer/api'
import { tempDir } from '../helpers'

let tmp: ReturnType<typeof tempDir>
let backend: Backend
let server: RunningServer
let api: WsApi

beforeAll(async () => {
  tmp = tempDir('ts-wsapi-')
  backend = createBackend({ dataDir: join(tmp.dir, 'data'), projectPath: join(tmp.dir, 'p.tsproj') })
  server = await startServer({ backend, port: 0 })
  const origin = `http://127.0.0.1:${server.port}`
  // The server only accepts sockets from its own origin, as a page it served would have.
  ;(window as unknown as { happyDOM: { setURL(url: string): void } }).happyDOM.setURL(
    `${origin}/?token=${server.token}`
  )
  api = createWsApi(origin, server.token)
})

afterAll(async () => {
  api?.close()
  await server?.close()
  await backend?.dispose()
  tmp?.remove()
})

describe('createWsApi', () => {
  it('invokes channels and receives events', async () => {
    const changed: string[] = []
    const off = api.on('library-changed', (e) => changed.push(e.reason))
    const project = await api.invoke('project:current', {})
    expect(project?.name).toBe('p')
    const added = await api.invoke('classes:add', { name: 'Stop' })
    expect(added.name).toBe('Stop')
    expect((await api.invoke('classes:list', {})).map((c) => c.name)).toEqual(['Stop'])
    await expect.poll(() => changed).toContain('classes')
    off()
  })

  it("rejects with the server's error name and message", async () => {
    const error = await api.invoke('library:image', { id: 987654 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RemoteError)
    expect((error as RemoteError).message).toMatch(/987654|not found|no image/i)
    const bad = await api
      .invoke('library:setLabel', { imageIds: 'x' as unknown as number[], classId: null })
      .catch((e: unknown) => e)
    expect(bad).toBeInstanceOf(RemoteError)
    expect((bad as Error).message).toMatch(/imageIds/)
    expect((bad as Error).name).toBe('ValidationError')
  })

  it('gets the schema refusal of a coerced or unknown argument, word for word', async () => {
    const rate = await api
      .invoke('library:split', { val: '0.1' as unknown as number, test: 0.1, groupBy: 'track', seed: 1 })
      .catch((e: unknown) => e)
    expect(rate).toMatchObject({
      name: 'ValidationError',
      message: 'library:split: val: must be a number, got "0.1"'
    })
    const extra = await api.invoke('classes:list', { all: true } as never).catch((e: unknown) => e)
    expect(extra).toMatchObject({
      name: 'ValidationError',
      message: 'classes:list: all: is not a known field'
    })
  })

  it('keeps delivering events to the other listeners when one throws, and unsubscribes', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    const got: string[] = []
    const offBroken = api.on('library-changed', () => {
      throw new Error('broken view')
    })
    const off = api.on('library-changed', (e) => got.push(e.reason))
    await api.invoke('classes:add', { name: 'Yield' })
    await expect.poll(() => got).toEqual(['classes'])
    expect(logged).toHaveBeenCalled()
    off()
    offBroken()
    logged.mockRestore()
    await api.invoke('classes:add', { name: 'Priority' })
    // A later event (after a round trip) reaches no one that unsubscribed.
    await api.invoke('classes:list', {})
    expect(got).toEqual(['classes'])
  })

  it('builds token-carrying media URLs', () => {
    expect(api.imageUrl(12, 'thumb')).toBe(
      `http://127.0.0.1:${server.port}/media/thumb/12?token=${server.token}`
    )
    expect(api.imageUrl(3, 'full')).toContain('/media/full/3?token=')
  })

  it('reports a refused connection and fails calls instead of hanging', async () => {
    const wrong = createWsApi(`http://127.0.0.1:${server.port}`, 'not-the-token')
    const states: string[] = []
    wrong.onConnection((s) => states.push(s))
    const error = await wrong.invoke('project:current', {}).catch((e: unknown) => e)
    expect((error as Error).name).toBe('ConnectionError')
    expect(states.at(-1)).toBe('closed')
  })
})
