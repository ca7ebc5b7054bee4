// The backend as the IPC adapters see it: every channel exists, bad arguments are refused at the boundary
// with clear messages, project lifecycle and events.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createBackend, type Backend } from '../../../src/main/backend'
import { CHANNELS } from '../../../src/shared/ipc'
import { SCHEMA_VERSION } from '../../../src/main/db/database'
import { tempDir } from '../../helpers'

describe('createBackend', () => {
  let tmp: ReturnType<typeof tempDir>
  let b: Backend
  beforeEach(() => {
    tmp = tempDir('ts-backend-')
    b = createBackend({ dataDir: join(tmp.dir, 'data') })
  })
  afterEach(async () => {
    await b.dispose()
    tmp.remove()
  })

  it('implements every channel of the contract', () => {
    for (const channel of CHANNELS) expect(typeof b.handlers[channel]).toBe('function')
  })

  it('refuses library calls while no project is open', async () => {
    expect(await b.handlers['project:current']({})).toBeNull()
    await expect(b.handlers['library:stats']({})).rejects.toThrow('no project is open')
    await expect(b.handlers['classes:list']({})).rejects.toThrow('no project is open')
    await expect(b.media('thumb', 1)).rejects.toThrow('no project is open')
  })

  it('creates, refuses to overwrite, opens and remembers projects', async () => {
    const changes: string[] = []
    const off = b.on('library-changed', (e) => changes.push(e.reason))
    const path = join(tmp.dir, 'sub', 'My Signs.tsproj')
    const info = await b.handlers['project:create']({ path })
    expect(info).toEqual({
      path,
      name: 'My Signs',
      schemaVersion: SCHEMA_VERSION,
      thumbnailDir: `${path}.thumbs`,
      readOnly: false,
      mediaKey: expect.stringMatching(/^[0-9a-z]+$/)
    })
    expect(existsSync(path)).toBe(true)
    expect(changes).toEqual(['project'])
    await expect(b.handlers['project:create']({ path })).rejects.toThrow(/already exists/)
    await expect(b.handlers['project:open']({ path: join(tmp.dir, 'nope.tsproj') })).rejects.toThrow(
      /not found/
    )
    const other = join(tmp.dir, 'other.tsproj')
    await b.handlers['project:create']({ path: other })
    await b.handlers['project:open']({ path })
    const recent = await b.handlers['project:recent']({})
    expect(recent.map((r) => r.path)).toEqual([path, other])
    expect(JSON.parse(readFileSync(join(tmp.dir, 'data', 'recent-projects.json'), 'utf8'))).toHaveLength(2)
    off()
    await b.handlers['project:open']({ path: other })
    expect(changes).toHaveLength(3)
    // Another app's SQLite file is refused and left untouched.
    const foreign = join(tmp.dir, 'foreign.db')
    const fdb = new Database(foreign)
    fdb.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)')
    fdb.close()
    await expect(b.handlers['project:open']({ path: foreign })).rejects.toThrow(
      /not a Transfer Studio project/
    )
    const check = new Database(foreign, { readonly: true })
    expect(check.pragma('user_version', { simple: true })).toBe(0)
    expect(check.pragma('journal_mode', { simple: true })).toBe('delete')
    expect(check.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table'").get()).toEqual({
      n: 1
    })
    check.close()
    // A file that is not SQLite is refused with the path in the message.
    await expect(
      b.handlers['project:open']({ path: join(tmp.dir, 'data', 'recent-projects.json') })
    ).rejects.toThrow(/cannot open project .*recent-projects.json/)
  })

  it('validates arguments at the boundary', async () => {
    await b.handlers['project:create']({ path: join(tmp.dir, 'p.tsproj') })
    const h = b.handlers as unknown as Record<string, (args: unknown) => Promise<unknown>>
    await expect(h['library:query'](null)).rejects.toThrow('library:query: arguments: must be an object')
    await expect(h['library:query']({ filter: {}, offset: -1, limit: 10 })).rejects.toThrow(
      'library:query: offset: must be >= 0'
    )
    await expect(h['library:query']({ filter: {}, offset: 0, limit: 5000 })).rejects.toThrow(
      'library:query: limit: must be <= 1000'
    )
    await expect(h['library:query']({ offset: 0, limit: 5 })).rejects.toThrow('filter: must be an object')
    await expect(h['library:query']({ filter: { split: 'dev' }, offset: 0, limit: 5 })).rejects.toThrow(
      'filter.split: must be one of train, val, test, none'
    )
    await expect(
      h['library:query']({ filter: {}, sort: { key: 'size' }, offset: 0, limit: 5 })
    ).rejects.toThrow(/sort\.key: must be one of/)
    await expect(
      h['library:query']({ filter: {}, sort: { key: 'confidence' }, offset: 0, limit: 5 })
    ).rejects.toThrow(/needs a runId/)
    await expect(h['library:setLabel']({ imageIds: ['1'], classId: 1 })).rejects.toThrow(
      'imageIds[0]: must be an id (an integer >= 1), got "1"'
    )
    await expect(h['library:setLabel']({ imageIds: [1], classId: 1.5 })).rejects.toThrow(
      'classId: must be an integer'
    )
    await expect(h['library:split']({ val: 0.6, test: 0.4, groupBy: 'track', seed: 1 })).rejects.toThrow(
      /less than 1/
    )
    await expect(h['library:split']({ val: 0.1, test: 0.1, groupBy: 'folder', seed: 1 })).rejects.toThrow(
      /groupBy/
    )
    await expect(h['library:import']({ folder: '', labels: 'folders' })).rejects.toThrow(
      'folder: must not be empty'
    )
    await expect(h['library:import']({ folder: tmp.dir, labels: 'magic' })).rejects.toThrow(
      /labels: must be one of/
    )
    await expect(h['library:import']({ folder: join(tmp.dir, 'missing'), labels: 'none' })).rejects.toThrow(
      /import folder not found/
    )
    await expect(
      h['library:import']({ folder: tmp.dir, labels: 'folders', namesCsv: join(tmp.dir, 'x.csv') })
    ).rejects.toThrow(/cannot read names CSV/)
    await expect(h['classes:add']({ name: '   ' })).rejects.toThrow('name: must not be empty')
    await expect(h['library:image']({ id: 7 })).rejects.toThrow('image 7 not found')
    await expect(b.media('big' as 'thumb', 1)).rejects.toThrow(/kind: must be one of thumb, full/)
    // A failed import request leaves no running import behind.
    expect(b.services.library.importing).toBe(false)
  })
})
