// The desktop transport (src/main/ipc.ts + src/preload/index.ts) without Electron: an in-memory stand-in
// for the `electron` module connects the preload's ipcRenderer to main's ipcMain, as VS Code tests its IPC
// over an in-memory protocol pair. The backend behind it is the real one on a temporary project.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { createBackend, type Backend } from '../../../src/main/backend'
import { mediaVersion, type StudioApi } from '../../../src/shared/ipc'
import { SHARED_DATA, sharedDataAvailable, tempDir } from '../../helpers'

const fake = vi.hoisted(() => {
  type Handler = (event: unknown, ...args: unknown[]) => unknown
  type Listener = (...args: unknown[]) => void
  const handlers = new Map<string, Handler>()
  // A minimal emitter: vi.hoisted runs before any import is available.
  const listeners = new Map<string, Set<Listener>>()
  const toRenderer = {
    on: (channel: string, l: Listener) =>
      listeners.set(channel, (listeners.get(channel) ?? new Set()).add(l)),
    off: (channel: string, l: Listener) => listeners.get(channel)?.delete(l),
    emit: (channel: string, ...args: unknown[]) =>
      [...(listeners.get(channel) ?? [])].forEach((l) => l(...args)),
    listenerCount: (channel: string) => listeners.get(channel)?.size ?? 0
  }
  const state = {
    senderUrl: 'file:///app/out/renderer/index.html',
    exposed: new Map<string, unknown>(),
    protocols: new Map<string, (request: Request) => Promise<Response>>(),
    privileged: [] as unknown[],
    /** Messages that reached "main" over ipcRenderer.invoke. */
    invokes: 0
  }
  const ipcMain = {
    handle: (channel: string, handler: Handler) => {
      if (handlers.has(channel)) throw new Error(`second handler for ${channel}`)
      handlers.set(channel, handler)
    },
    removeHandler: (channel: string) => void handlers.delete(channel)
  }
  const ipcRenderer = {
    invoke: async (channel: string, ...args: unknown[]) => {
      state.invokes++
      const handler = handlers.get(channel)
      if (!handler) throw new Error(`No handler registered for '${channel}'`)
      // Structured clone, as Electron does between processes.
      return structuredClone(
        await handler({ senderFrame: { url: state.senderUrl } }, ...structuredClone(args))
      )
    },
    on: (channel: string, listener: Listener) => toRenderer.on(channel, listener),
    removeListener: (channel: string, listener: Listener) => toRenderer.off(channel, listener)
  }
  const window = {
    isDestroyed: () => false,
    webContents: {
      send: (channel: string, payload: unknown) =>
        toRenderer.emit(channel, { sender: 'x' }, structuredClone(payload))
    }
  }
  const electron = {
    ipcMain,
    ipcRenderer,
    BrowserWindow: { getAllWindows: () => [window] },
    contextBridge: { exposeInMainWorld: (key: string, value: unknown) => state.exposed.set(key, value) },
    protocol: {
      registerSchemesAsPrivileged: (schemes: unknown[]) => state.privileged.push(...schemes),
      handle: (scheme: string, handler: (request: Request) => Promise<Response>) =>
        state.protocols.set(scheme, handler),
      unhandle: (scheme: string) => void state.protocols.delete(scheme)
    }
  }
  return { electron, state, handlers, toRenderer }
})
vi.mock('electron', () => ({ ...fake.electron, default: fake.electron }))

describe.skipIf(!sharedDataAvailable())('Electron transport (ipc.ts + preload)', () => {
  let tmp: ReturnType<typeof tempDir>
  let backend: Backend
  let unbind: () => void
  let unhandle: () => void
  let api: StudioApi
  let imageId: number

  beforeEach(async () => {
    tmp = tempDir()
    const images = join(tmp.dir, 'images', '14')
    mkdirSync(images, { recursive: true })
    const source = join(SHARED_DATA, 'gtsrb-train', '14')
    for (const f of readdirSync(source).slice(0, 2)) copyFileSync(join(source, f), join(images, f))
    backend = createBackend({ dataDir: join(tmp.dir, 'data'), projectPath: join(tmp.dir, 'p.tsproj') })
    await backend.handlers['library:import']({ folder: join(tmp.dir, 'images'), labels: 'folders' })
    imageId = (await backend.handlers['library:query']({ filter: {}, offset: 0, limit: 1 })).items[0].id

    const ipc = await import('../../../src/main/electron/ipc')
    ipc.registerMediaScheme()
    unbind = ipc.bindIpc(backend, (frame) => frame?.url.startsWith('file:///app/out/renderer/') ?? false)
    unhandle = ipc.handleMediaProtocol(backend)
    vi.resetModules()
    fake.state.exposed.clear()
    await import('../../../src/preload')
    api = fake.state.exposed.get('api') as StudioApi
  })

  afterEach(async () => {
    unbind()
    unhandle()
    await backend.dispose()
    fake.state.senderUrl = 'file:///app/out/renderer/index.html'
    tmp.remove()
  })

  it('exposes exactly one api object with invoke, on and imageUrl', () => {
    expect([...fake.state.exposed.keys()]).toEqual(['api'])
    expect(Object.keys(api).sort()).toEqual(['imageUrl', 'invoke', 'on'])
  })

  it('round-trips a real call and rebuilds backend errors with their name', async () => {
    const added = await api.invoke('classes:add', { name: 'Stop sign' })
    expect(added).toMatchObject({ name: 'Stop sign', count: 0 })
    const stats = await api.invoke('library:stats', {})
    expect(stats).toMatchObject({ images: 2, labelled: 2 })
    const error = await api.invoke('classes:rename', { id: 9999, name: 'x' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).message).toMatch(/9999|not found/i)
    const invalid = await api.invoke('classes:add', { name: 42 as unknown as string }).catch((e: Error) => e)
    expect(invalid).toMatchObject({ name: 'ValidationError' })
  })

  it('refuses unknown channels in the preload and again in main, and untrusted senders', async () => {
    const before = fake.state.invokes
    await expect(api.invoke('fs:read' as 'classes:list', {})).rejects.toThrow(/unknown channel/)
    expect(fake.state.invokes).toBe(before)
    const direct = fake.handlers.get('studio:invoke')!
    const reply = await direct({ senderFrame: { url: 'file:///app/out/renderer/index.html' } }, 'fs:read', {})
    expect(reply).toMatchObject({ ok: false, error: { name: 'BadRequestError' } })
    const notObject = await direct(
      { senderFrame: { url: 'file:///app/out/renderer/index.html' } },
      'classes:list',
      5
    )
    expect(notObject).toMatchObject({ ok: false, error: { message: /plain object/ } })
    fake.state.senderUrl = 'https://evil.example/'
    await expect(api.invoke('library:stats', {})).rejects.toThrow(/untrusted sender/)
  })

  it('forwards events; on() returns a working unsubscribe; unknown events are refused', async () => {
    const seen: unknown[] = []
    const off = api.on('library-changed', (payload) => seen.push(payload))
    await api.invoke('classes:add', { name: 'Yield' })
    expect(seen).toEqual([{ reason: 'classes' }])
    off()
    await api.invoke('classes:add', { name: 'Give way' })
    expect(seen).toHaveLength(1)
    expect(fake.toRenderer.listenerCount('studio:event')).toBe(0)
    expect(() => api.on('secrets' as 'library-changed', () => {})).toThrow(/unknown event/)
  })

  it('serves images on studio-media:// for the URLs the preload hands out', async () => {
    expect(fake.state.privileged).toContainEqual(expect.objectContaining({ scheme: 'studio-media' }))
    const handler = fake.state.protocols.get('studio-media')!
    const full = await handler(new Request(api.imageUrl(imageId, 'full')))
    expect(full.status).toBe(200)
    expect(full.headers.get('content-type')).toBe('image/png')
    const meta = await sharp(Buffer.from(await full.arrayBuffer())).metadata()
    const detail = await api.invoke('library:image', { id: imageId })
    expect([meta.width, meta.height]).toEqual([detail.width, detail.height])
    const thumb = await handler(new Request(api.imageUrl(imageId, 'thumb')))
    expect(thumb.status).toBe(200)
    expect((await handler(new Request('studio-media://thumb/987654'))).status).toBe(404)
    // The same cache key as the server's URLs: the image's hash (immutable) or the project's key; another
    // project's key or old content is not found.
    const project = await api.invoke('project:current', {})
    const versioned = api.imageUrl(imageId, 'thumb', mediaVersion(project!.mediaKey, detail.hash))
    expect(versioned).toBe(`studio-media://thumb/${imageId}?v=${detail.hash}`)
    const hit = await handler(new Request(versioned))
    expect(hit.status).toBe(200)
    expect(hit.headers.get('cache-control')).toContain('immutable')
    const stale = mediaVersion('0123456789abcdef')
    expect((await handler(new Request(api.imageUrl(imageId, 'thumb', stale)))).status).toBe(404)
    expect((await handler(new Request(api.imageUrl(imageId, 'full', project!.mediaKey)))).status).toBe(200)
    const oldHash = mediaVersion(project!.mediaKey, '0'.repeat(40))
    expect((await handler(new Request(api.imageUrl(imageId, 'full', oldHash)))).status).toBe(404)
    expect((await handler(new Request('studio-media://secret/1'))).status).toBe(404)
  })

  it('stops forwarding and answering once unbound', async () => {
    const seen: unknown[] = []
    api.on('library-changed', (payload) => seen.push(payload))
    unbind()
    await backend.handlers['classes:add']({ name: 'After unbind' })
    expect(seen).toEqual([])
    await expect(api.invoke('library:stats', {})).rejects.toThrow(/No handler/)
    unbind = () => {}
  })
})
