// What errors say once they leave the backend: real SqliteErrors and Node fs errors become sentences with no
// raw SQLite text, no stack and no full path; bugs become "internal error" with an id that the log repeats;
// a 40 KB message is capped. The WebSocket case runs the real backend behind the real server.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import WebSocket from 'ws'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createBackend, type Backend } from '../../../src/main/backend'
import { startServer, type RunningServer } from '../../../src/main/server'
import { serializeError } from '../../../src/main/server/dispatch'
import { MAX_MESSAGE_LENGTH, toUserError, userMessage } from '../../../src/main/errors/userError'
import { NotFoundError, ValidationError } from '../../../src/main/errors'
import type { ServerMessage } from '../../../src/shared/ipc'
import { tempDir } from '../../helpers'

/** Nothing of SQLite's or Node's own wording, no stack frame, no error class name of a library. */
function expectClean(text: string): void {
  expect(text).not.toMatch(
    /SqliteError|SQLITE_|database is locked|readonly database|malformed|not a database/
  )
  expect(text).not.toMatch(/\n\s+at\s|\.ts:\d+|\.js:\d+/)
  expect(text).not.toMatch(/ENOENT|EACCES|EISDIR|no such file/)
  expect(text.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH)
}

function sqliteError(fn: () => void): Error {
  try {
    fn()
  } catch (err) {
    expect((err as Error).name).toBe('SqliteError')
    return err as Error
  }
  throw new Error('expected a SqliteError')
}

function fsError(fn: () => void): Error {
  try {
    fn()
  } catch (err) {
    return err as Error
  }
  throw new Error('expected an fs error')
}

describe('toUserError / serializeError', () => {
  let tmp: ReturnType<typeof tempDir>
  beforeEach(() => (tmp = tempDir('ts-errors-')))
  afterEach(() => tmp.remove())

  it('maps real SqliteErrors (busy, read-only, not a database) to sentences with no raw text', () => {
    const file = join(tmp.dir, 'p.db')
    const a = new Database(file)
    a.exec('CREATE TABLE t (x)')
    const b = new Database(file, { timeout: 0 })
    const seen: Error[] = []
    try {
      a.exec('BEGIN EXCLUSIVE')
      const busy = sqliteError(() => b.exec('INSERT INTO t VALUES (1)'))
      a.exec('COMMIT')
      seen.push(busy)
      expect(serializeError(busy)).toMatchObject({
        name: 'DatabaseError',
        message: 'the project is busy in another program; try again'
      })

      const ro = new Database(file, { readonly: true })
      const readonly = sqliteError(() => ro.exec('INSERT INTO t VALUES (1)'))
      ro.close()
      seen.push(readonly)
      expect(readonly.message).toMatch(/readonly database/) // what used to reach the user
      expect(serializeError(readonly).message).toMatch(/^the project is open read-only/)
    } finally {
      a.close()
      b.close()
    }

    const junk = join(tmp.dir, 'junk.tsproj')
    writeFileSync(junk, 'this is a text file, long enough to look like a header '.repeat(20))
    const notDb = sqliteError(() => new Database(junk).pragma('user_version'))
    expect(serializeError(notDb).message).toBe(
      'not a Transfer Studio project (the file is not an SQLite database)'
    )

    for (const err of [...seen, notDb]) expectClean(JSON.stringify(serializeError(err)))
  })

  it('says what a read-only folder stops (WAL keeps its -shm beside the project, even to read)', () => {
    // What a non-root user gets opening a project in a 0555 folder (run by hand as nobody; root is not stopped).
    const err = new Database.SqliteError('attempt to write a readonly database', 'SQLITE_READONLY_DIRECTORY')
    expect(userMessage(err)).toMatch(/^the project's folder cannot be written/)
    expectClean(userMessage(err))
  })

  it('maps a SqliteError that crossed a process boundary without its code by SQLite’s own text', () => {
    // trainingService rebuilds a child's error as `Object.assign(new Error(message), { name })`.
    const rebuilt = Object.assign(new Error('database or disk is full'), { name: 'SqliteError' })
    expect(userMessage(rebuilt)).toBe('the disk is full; free some space and try again')
  })

  it('a SqliteError that is a bug (constraint) becomes "internal error" with an id that the log repeats', () => {
    const db = new Database(':memory:')
    db.exec('CREATE TABLE t (x UNIQUE)')
    db.exec('INSERT INTO t VALUES (1)')
    const err = sqliteError(() => db.exec('INSERT INTO t VALUES (1)'))
    db.close()
    const log = vi.fn()
    const out = toUserError(err, { log })
    expect(out.name).toBe('InternalError')
    const id = /^internal error \(id ([0-9a-f]{8})\)/.exec(out.message)?.[1]
    expect(id).toBeDefined()
    expect(log).toHaveBeenCalledWith(`internal error ${id}:`, err)
    expectClean(JSON.stringify(out))
  })

  it('serializeError logs the detail of an internal error to stderr', () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => undefined)
    try {
      const bug = new TypeError("Cannot read properties of undefined (reading 'id')")
      const out = serializeError(bug)
      expect(out.message).toMatch(/^internal error \(id [0-9a-f]{8}\)/)
      expect(out.message).not.toMatch(/Cannot read/)
      expect(spy).toHaveBeenCalledWith(expect.stringMatching(/^internal error [0-9a-f]{8}:$/), bug)
      // A thrown string or object is a bug too, and JSON.parse's message quotes the file it read.
      expect(serializeError('raw string with /home/user/secret').message).toMatch(/^internal error/)
      const parse = fsError(() => JSON.parse('{"token": "s3cret", oops}'))
      expect(serializeError(parse).message).not.toMatch(/s3cret|oops/)
    } finally {
      spy.mockRestore()
    }
  })

  it('maps Node fs errors to sentences naming only the base name', () => {
    const secret = join(tmp.dir, 'private', 'folder')
    mkdirSync(secret, { recursive: true })
    const missing = fsError(() => readFileSync(join(secret, '00001_00000.ppm')))
    expect(serializeError(missing)).toMatchObject({
      name: 'FileError',
      message: 'file not found: "00001_00000.ppm"'
    })
    const isDir = fsError(() => writeFileSync(secret, 'x'))
    expect(userMessage(isDir)).toBe('"folder" is a folder, not a file')
    for (const [code, re] of [
      ['EACCES', /^permission denied: "x.ppm"/],
      ['ENOSPC', /^the disk is full \(writing "x.ppm"\)/]
    ] as const) {
      const e = Object.assign(new Error(`${code}: raw text, open '${secret}/x.ppm'`), {
        code,
        errno: -1,
        syscall: 'open',
        path: join(secret, 'x.ppm')
      })
      expect(userMessage(e)).toMatch(re)
    }
    for (const err of [missing, isDir]) {
      const text = JSON.stringify(serializeError(err))
      expectClean(text)
      expect(text).not.toContain(tmp.dir)
    }
  })

  it('passes the errors our code throws on purpose, capping a 40 KB message', () => {
    expect(serializeError(new NotFoundError('image 7 not found'))).toEqual({
      name: 'NotFoundError',
      message: 'image 7 not found'
    })
    expect(serializeError(new Error('no project is open: create or open a project first')).message).toBe(
      'no project is open: create or open a project first'
    )
    const huge = 'x'.repeat(40 * 1024)
    for (const err of [new Error(huge), new ValidationError(`classes:add: name: ${huge}`)]) {
      const out = serializeError(err)
      expect(out.message.length).toBe(MAX_MESSAGE_LENGTH)
      expect(out.message.endsWith('…')).toBe(true)
    }
    // A stack pasted into a message is dropped.
    const pasted = new Error('could not do it\n    at f (/src/main/x.ts:1:2)\n    at g (/src/main/y.ts:3:4)')
    expect(serializeError(pasted).message).toBe('could not do it')
  })
})

describe('over the WebSocket, from the real backend', () => {
  let tmp: ReturnType<typeof tempDir>
  let backend: Backend
  let server: RunningServer
  beforeEach(async () => {
    tmp = tempDir('ts-errors-ws-')
    backend = createBackend({ dataDir: join(tmp.dir, 'data'), projectPath: join(tmp.dir, 'p.tsproj') })
    server = await startServer({ backend, port: 0 })
  })
  afterEach(async () => {
    await server.close()
    await backend.dispose()
    tmp.remove()
  })

  it('a locked project answers with the busy sentence, not "SqliteError: database is locked"', async () => {
    // No five-second wait in a test: the backend's connection gives up at once, as after its timeout.
    backend.services.projects.require().db.pragma('busy_timeout = 0')
    const other = new Database(join(tmp.dir, 'p.tsproj'))
    other.exec('BEGIN EXCLUSIVE')
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api?token=${encodeURIComponent(server.token)}`)
    try {
      await new Promise((res, rej) => ws.once('open', res).once('error', rej))
      const reply = await new Promise<{ raw: string; msg: ServerMessage }>((res) => {
        ws.on('message', (data) => {
          const raw = data.toString()
          const msg = JSON.parse(raw) as ServerMessage
          if (msg.type === 'result') res({ raw, msg })
        })
        ws.send(JSON.stringify({ type: 'invoke', id: 1, channel: 'classes:add', args: { name: 'stop' } }))
      })
      expect(reply.msg).toMatchObject({
        ok: false,
        error: { name: 'DatabaseError', message: 'the project is busy in another program; try again' }
      })
      expectClean(reply.raw)
    } finally {
      ws.close()
      other.exec('ROLLBACK')
      other.close()
    }
  })
})
