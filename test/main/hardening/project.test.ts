// Opening files that are not ordinary, writable projects, through the real backend on real files: a read-only
// project opens read-only and refuses writes with a sentence (whoever runs the test: as root, chmod does not
// stop writes, so the app goes by the file's mode bits and opens it with SQLite's read-only flag); an empty
// file, a folder and a text file are refused without being touched.
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createBackend, type Backend } from '../../../src/main/backend'
import { serializeError } from '../../../src/main/server/dispatch'
import { tempDir } from '../../helpers'

const sha1 = (file: string): string => createHash('sha1').update(readFileSync(file)).digest('hex')

async function failure(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await p
  } catch (err) {
    return serializeError(err)
  }
  throw new Error('expected the call to fail')
}

describe('opening unusual project files', () => {
  let tmp: ReturnType<typeof tempDir>
  let b: Backend
  beforeEach(() => {
    tmp = tempDir('ts-project-')
    b = createBackend({ dataDir: join(tmp.dir, 'data') })
  })
  afterEach(async () => {
    await b.dispose()
    tmp.remove()
  })

  it('a read-only project (chmod 0444) opens read-only: reads work, writes are refused in words', async () => {
    const file = join(tmp.dir, 'signs.tsproj')
    await b.handlers['project:create']({ path: file })
    await b.handlers['classes:add']({ name: 'stop' })
    b.services.projects.close()
    chmodSync(file, 0o444)
    const before = sha1(file)

    const info = await b.handlers['project:open']({ path: file })
    expect(info.name).toBe('signs')
    // The app is told at once (it shows a banner), not only at the first refused write.
    expect(info.readOnly).toBe(true)
    expect(b.services.projects.readOnly()).toBe("the file's permissions do not allow changes")
    expect((await b.handlers['classes:list']({})).map((c) => c.name)).toEqual(['stop'])

    // Root may write a 0444 file; the project must still not change.
    const refused = await failure(b.handlers['classes:add']({ name: 'yield' }))
    expect(refused.message).toMatch(/^the project is open read-only .*copy it or change its permissions/)
    expect(JSON.stringify(refused)).not.toMatch(/SqliteError|SQLITE_|attempt to write/)
    expect((await b.handlers['classes:list']({})).map((c) => c.name)).toEqual(['stop'])

    b.services.projects.close()
    expect(sha1(file)).toBe(before)
    expect(statSync(file).mode & 0o777).toBe(0o444)

    // Given its permissions back, the same file opens writable again.
    chmodSync(file, 0o644)
    expect((await b.handlers['project:open']({ path: file })).readOnly).toBe(false)
    expect(b.services.projects.readOnly()).toBeNull()
    await b.handlers['classes:add']({ name: 'yield' })
    expect((await b.handlers['classes:list']({})).map((c) => c.name)).toEqual(['stop', 'yield'])
  })

  it.skipIf(process.getuid?.() === 0)(
    'as an ordinary user, the read-only open leaves -wal and -shm that a later writable open can use',
    async () => {
      // Skipped as root, whom modes do not stop. SQLite gives the companions the project's 0444 mode; left
      // so, the writable open after a chmod 644 failed every write with "attempt to write a readonly database".
      const file = join(tmp.dir, 'mine.tsproj')
      await b.handlers['project:create']({ path: file })
      b.services.projects.close()
      chmodSync(file, 0o444)
      await b.handlers['project:open']({ path: file })
      expect(b.services.projects.readOnly()).not.toBeNull()
      const refused = await failure(b.handlers['classes:add']({ name: 'x' }))
      expect(refused.message).toMatch(/^the project is open read-only/)
      b.services.projects.close()
      for (const companion of [`${file}-wal`, `${file}-shm`])
        if (existsSync(companion)) expect(statSync(companion).mode & 0o200).toBe(0o200)
      chmodSync(file, 0o644)
      await b.handlers['project:open']({ path: file })
      await b.handlers['classes:add']({ name: 'x' })
    }
  )

  it.skipIf(process.getuid?.() === 0)(
    'a project in a folder this user may not write is refused in words (WAL needs its -shm beside the file)',
    async () => {
      // Skipped as root, whom a 0555 folder does not stop; checked by hand as `nobody` (see the report).
      const dir = join(tmp.dir, 'locked')
      mkdirSync(dir)
      const file = join(dir, 'p.tsproj')
      await b.handlers['project:create']({ path: file })
      b.services.projects.close()
      chmodSync(dir, 0o555)
      try {
        const refused = await failure(b.handlers['project:open']({ path: file }))
        expect(refused.message).toMatch(/^cannot open project .*: the project's folder cannot be written/)
      } finally {
        chmodSync(dir, 0o755)
      }
    }
  )

  it('an empty file is refused, left empty, and not remembered', async () => {
    const file = join(tmp.dir, 'empty.tsproj')
    writeFileSync(file, '')
    const refused = await failure(b.handlers['project:open']({ path: file }))
    expect(refused.message).toBe(
      `cannot open project ${file}: not a Transfer Studio project (the file is empty)`
    )
    expect(statSync(file).size).toBe(0)
    expect(existsSync(`${file}-wal`)).toBe(false)
    expect(existsSync(`${file}.thumbs`)).toBe(false)
    expect(await b.handlers['project:current']({})).toBeNull()
    expect((await b.handlers['project:recent']({})).map((r) => r.path)).not.toContain(file)
    // The backend's own startup path (the CLI's --project) refuses it too.
    expect(() => createBackend({ dataDir: join(tmp.dir, 'data2'), projectPath: file })).toThrow(
      /the file is empty/
    )
    expect(statSync(file).size).toBe(0)
  })

  it('a text file and a folder are refused in words, not SQLite’s', async () => {
    const notes = join(tmp.dir, 'notes.tsproj')
    writeFileSync(notes, 'these are my notes, not a database\n'.repeat(200))
    const refused = await failure(b.handlers['project:open']({ path: notes }))
    expect(refused.message).toBe(
      `cannot open project ${notes}: not a Transfer Studio project (the file is not an SQLite database)`
    )
    expect(readFileSync(notes, 'utf8')).toBe('these are my notes, not a database\n'.repeat(200))

    const folder = join(tmp.dir, 'folder.tsproj')
    mkdirSync(folder)
    expect((await failure(b.handlers['project:open']({ path: folder }))).message).toBe(
      `cannot open project ${folder}: not a Transfer Studio project (it is a folder, not a file)`
    )
  })
})
