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
    await b.handlers['project:open']({ path: file })
    expect(b.services.projects.readOnly()).toBeNull()
    await b.handlers['classes:add']({ name: 'yield' })
    expect((await b.handlers['classes:list']({})).map((c) => c.name)).toEqual(['stop', 'yield'])
  })

  it.skipIf(process.getuid?.() === 0)(
    'a file this user may not write (0644 owned by someone else is not possible here; 0444 checked by access(2))',
    async () => {
      // As an ordinary user, access(2) and the mode bits agree; this checks the project still opens read-only
      // when SQLite would have fallen back to read-only by itself and answered "attempt to write a readonly
      // database" to the first write.
      const file = join(tmp.dir, 'mine.tsproj')
      await b.handlers['project:create']({ path: file })
      b.services.projects.close()
      chmodSync(file, 0o444)
      await b.handlers['project:open']({ path: file })
      expect(b.services.projects.readOnly()).not.toBeNull()
      const refused = await failure(b.handlers['classes:add']({ name: 'x' }))
      expect(refused.message).toMatch(/^the project is open read-only/)
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
