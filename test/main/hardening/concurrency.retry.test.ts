// transaction()'s wait for another connection's write lock: past busy_timeout it retries with backoff, for
// up to twice busy_timeout in all, and runs the work once. The lock is held by a worker thread with its own
// connection, since this thread blocks while it waits (better-sqlite3 is synchronous).
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { isBusy, openDatabase, transaction, type Db } from '../../../src/main/db/database'
import { tempDir } from '../../helpers'

const BETTER_SQLITE3 = require.resolve('better-sqlite3')

/** A worker that takes the write lock of `file`, says so, and commits after `holdMs`. */
async function holdWriteLock(file: string, holdMs: number): Promise<Worker> {
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads')
     const Database = require(workerData.lib)
     const db = new Database(workerData.file)
     db.exec('BEGIN IMMEDIATE')
     db.prepare("INSERT INTO classes (key, name, position) VALUES ('held', 'held', 99)").run()
     parentPort.postMessage('locked')
     Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.holdMs)
     db.exec('COMMIT')
     db.close()`,
    { eval: true, workerData: { lib: BETTER_SQLITE3, file, holdMs } }
  )
  await new Promise((res, rej) => worker.once('message', res).once('error', rej))
  return worker
}

describe('transaction() against a held write lock', () => {
  let tmp: ReturnType<typeof tempDir>
  let file: string
  let db: Db
  beforeEach(() => {
    tmp = tempDir('ts-retry-')
    file = join(tmp.dir, 'p.tsproj')
    db = openDatabase(file)
  })
  afterEach(() => {
    db.close()
    tmp.remove()
  })

  it('waits past busy_timeout for a lock released within twice of it, and runs the work once', async () => {
    db.pragma('busy_timeout = 300')
    const worker = await holdWriteLock(file, 400)
    const started = Date.now()
    let runs = 0
    transaction(db, () => {
      runs++
      db.prepare("INSERT INTO classes (key, name, position) VALUES ('mine', 'mine', 0)").run()
    })
    const waited = Date.now() - started
    await worker.terminate()
    expect(runs).toBe(1)
    expect(waited).toBeGreaterThanOrEqual(300) // one busy_timeout passed before the retry that got in
    expect(db.prepare('SELECT key FROM classes ORDER BY key').pluck().all()).toEqual(['held', 'mine'])
  })

  it('gives up with SQLITE_BUSY after twice busy_timeout, without running the work', async () => {
    db.pragma('busy_timeout = 50')
    const worker = await holdWriteLock(file, 1500)
    const started = Date.now()
    let runs = 0
    let error: unknown
    try {
      transaction(db, () => runs++)
    } catch (err) {
      error = err
    }
    const waited = Date.now() - started
    await worker.terminate()
    expect(isBusy(error)).toBe(true)
    expect(runs).toBe(0)
    expect(waited).toBeGreaterThanOrEqual(100)
    expect(waited).toBeLessThan(1000) // bounded: it did not wait for the holder
  })
})
