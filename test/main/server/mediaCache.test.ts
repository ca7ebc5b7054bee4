// Media URLs that cannot collide (issue 14 item 1): two real projects whose image ids both start at 1 are
// served one after the other by one server; a URL names the image's content (or, without it, the project),
// is refused, and only a URL with the content hash is cacheable as immutable.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { startServer, type RunningServer } from '../../../src/main/server'
import { createBackend, type Backend } from '../../../src/main/backend'
import { decodeImage, encodePng } from '../../../src/main/image/decode'
import { mediaVersion } from '../../../src/shared/ipc'
import { SHARED_DATA, sharedDataAvailable, tempDir } from '../../helpers'

/** Copy the first `n` GTSRB training images of class `cls` into `folder/cls`. */
function copyClass(folder: string, cls: string, n: number): string[] {
  mkdirSync(join(folder, cls), { recursive: true })
  const source = join(SHARED_DATA, 'gtsrb-train', cls)
  const files = readdirSync(source).sort().slice(0, n)
  for (const f of files) copyFileSync(join(source, f), join(folder, cls, f))
  return files.map((f) => join(folder, cls, f))
}

/** A GTSRB file (PPM: read with the app's decoder) as an 8x8 RGB rendering. */
async function thumbOf(file: string): Promise<Buffer> {
  return small(await encodePng(await decodeImage(file)))
}

function small(png: Buffer): Promise<Buffer> {
  return sharp(png).resize(8, 8, { fit: 'fill' }).removeAlpha().raw().toBuffer()
}

/** Mean absolute difference of two 8x8 RGB renderings (0..255). */
function distance(a: Buffer, b: Buffer): number {
  let sum = 0
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i])
  return sum / a.length
}

describe.skipIf(!sharedDataAvailable())('media cache keys', () => {
  let tmp: ReturnType<typeof tempDir>
  let backend: Backend
  let server: RunningServer

  beforeEach(async () => {
    tmp = tempDir('ts-media-')
    backend = createBackend({ dataDir: join(tmp.dir, 'data') })
    server = await startServer({ backend, port: 0 })
  })
  afterEach(async () => {
    await server?.close()
    await backend.dispose()
    tmp.remove()
  })

  async function get(path: string): Promise<{ status: number; cache: string | null; body: Buffer }> {
    const sep = path.includes('?') ? '&' : '?'
    const res = await fetch(`http://127.0.0.1:${server.port}${path}${sep}token=${server.token}`)
    return {
      status: res.status,
      cache: res.headers.get('cache-control'),
      body: Buffer.from(await res.arrayBuffer())
    }
  }

  async function project(name: string, cls: string): Promise<{ key: string; files: string[] }> {
    const folder = join(tmp.dir, `${name}-images`)
    const files = copyClass(folder, cls, 2)
    const info = await backend.handlers['project:create']({ path: join(tmp.dir, `${name}.tsproj`) })
    await backend.handlers['library:import']({ folder, labels: 'folders' })
    return { key: info.mediaKey, files }
  }

  it('gives each project its own key, refuses a stale one, and serves the right bytes', async () => {
    const a = await project('A', '1')
    const pageA = await backend.handlers['library:query']({
      filter: {},
      sort: { key: 'id' },
      offset: 0,
      limit: 5
    })
    const a1 = pageA.items[0]
    expect(a1.id).toBe(1)
    const urlA = `/media/thumb/1?v=${mediaVersion(a.key, a1.hash)}`
    const fromA = await get(urlA)
    expect(fromA.status).toBe(200)
    expect(fromA.cache).toContain('immutable')

    const b = await project('B', '14')
    expect(b.key).toMatch(/^[0-9a-f]{16}$/)
    expect(b.key).not.toBe(a.key)
    const pageB = await backend.handlers['library:query']({
      filter: {},
      sort: { key: 'id' },
      offset: 0,
      limit: 5
    })
    const b1 = pageB.items[0]
    expect(b1.id).toBe(1)
    expect(b1.hash).not.toBe(a1.hash)

    // A's URL no longer names an image of the open project: 404, not B's image 1.
    expect((await get(urlA)).status).toBe(404)
    // A's hash is what B's image 1 is not (as after a re-import that gave the id new bytes): stale too.
    expect(mediaVersion(b.key, a1.hash)).toBe(a1.hash)
    expect((await get(`/media/thumb/1?v=${mediaVersion(b.key, a1.hash)}`)).status).toBe(404)
    expect((await get(`/media/full/1?v=${mediaVersion(a.key)}`)).status).toBe(404)
    expect((await get('/media/thumb/1?v=not-a-key')).status).toBe(404)

    const fromB = await get(`/media/thumb/1?v=${mediaVersion(b.key, b1.hash)}`)
    expect(fromB.status).toBe(200)
    expect(fromB.cache).toContain('immutable')
    const seen = await small(fromB.body)
    const bFile = await thumbOf(b.files[0])
    const aFile = await thumbOf(a.files[0])
    expect(distance(seen, bFile)).toBeLessThan(distance(seen, aFile))
    expect(distance(seen, bFile)).toBeLessThan(12)

    // Without the hash (project key only, or the old id-only URL) the bytes must be revalidated.
    expect((await get(`/media/thumb/1?v=${mediaVersion(b.key)}`)).cache).toBe('private, no-cache')
    expect((await get('/media/thumb/1')).cache).toBe('private, no-cache')
  })

  it('keys a project created again at the same path differently', async () => {
    const first = await project('Same', '1')
    // Another project takes over, then the first one's file and images are deleted and made again.
    await project('Other', '2')
    for (const f of readdirSync(tmp.dir).filter((f) => f.startsWith('Same')))
      rmSync(join(tmp.dir, f), { recursive: true, force: true })
    const again = await project('Same', '14')
    expect(again.key).not.toBe(first.key)
  })
})
