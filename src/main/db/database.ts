// The one database module: open a project file, bring its schema up to date, run work in a transaction.
// The schema version is SQLite's `user_version`; each migration runs in its own transaction together with
// the version bump, so a crash leaves the file at a whole version.
import Database from 'better-sqlite3'
import { MIGRATIONS } from './migrations'

export type Db = Database.Database

export const SCHEMA_VERSION = MIGRATIONS.length

export interface OpenOptions {
  /** Refuse to create a new file (open an existing project only). */
  mustExist?: boolean
}

/** Open (or create) a project database with WAL and foreign keys on, and run pending migrations. */
export function openDatabase(path: string, opts: OpenOptions = {}): Db {
  const db = new Database(path, { fileMustExist: opts.mustExist ?? false })
  try {
    db.pragma('foreign_keys = ON')
    db.pragma('busy_timeout = 5000')
    // Check and migrate first: a foreign file must be refused before anything (even WAL) touches it.
    migrate(db)
    db.pragma('journal_mode = WAL')
    // NORMAL is durable across application crashes in WAL mode; only a power cut can lose the last commit.
    db.pragma('synchronous = NORMAL')
  } catch (err) {
    db.close()
    throw err
  }
  return db
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number
}

/** `PRAGMA application_id` of project files ("TStd"), so another app's SQLite file is never migrated. */
export const APPLICATION_ID = 0x54537464

export function migrate(db: Db, target = SCHEMA_VERSION): number {
  const start = checkedVersion(db)
  // Another process may be opening (and migrating) the same new file right now: each step reads the version
  // again under the write lock, so no migration runs twice and none sees a half-made schema.
  let current = start
  while (current < target) {
    current = transaction(db, () => {
      const v = checkedVersion(db)
      if (v >= target) return v
      db.exec(MIGRATIONS[v])
      db.pragma(`user_version = ${v + 1}`)
      db.pragma(`application_id = ${APPLICATION_ID}`)
      return v + 1
    })
  }
  return Math.max(start, target)
}

/** The file's schema version, after refusing a file that is not a project or is newer than this app. */
function checkedVersion(db: Db): number {
  const current = schemaVersion(db)
  const appId = db.pragma('application_id', { simple: true }) as number
  if (current === 0) {
    const tables = db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table'").get() as {
      n: number
    }
    if (tables.n > 0)
      throw new Error('not a Transfer Studio project (the database already holds other tables)')
  } else if (appId !== APPLICATION_ID) {
    // Files from early development builds have the schema but no application id yet.
    const ours = db
      .prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name IN ('images', 'classes', 'runs')")
      .get() as {
      n: number
    }
    if (appId !== 0 || ours.n !== 3)
      throw new Error('not a Transfer Studio project (unknown SQLite application id)')
    db.pragma(`application_id = ${APPLICATION_ID}`)
  }
  if (current > SCHEMA_VERSION) {
    throw new Error(
      `project schema version ${current} is newer than this app supports (${SCHEMA_VERSION}); update Transfer Studio`
    )
  }
  return current
}

/**
 * Run `fn` in one IMMEDIATE transaction (nested calls become savepoints). IMMEDIATE takes the write lock at
 * BEGIN, where SQLite's busy handler waits for it (busy_timeout); a DEFERRED transaction that reads first and
 * then writes cannot wait (another process committed after its snapshot) and fails with "database is locked"
 * at once. Where SQLite still answers SQLITE_BUSY before `fn` ran (WAL recovery, a checkpoint in the way, or
 * another process holding the lock past busy_timeout), the outermost call retries with backoff for up to
 * twice the connection's busy_timeout in all (10 s at the default), so `fn` runs once per commit.
 */
export function transaction<T>(db: Db, fn: () => T): T {
  if (db.inTransaction) return db.transaction(fn).immediate() // a savepoint: the outer call owns retries
  let entered = false
  const tx = db.transaction(() => {
    entered = true
    return fn()
  })
  const started = Date.now()
  let deadline: number | undefined
  for (let attempt = 0; ; attempt++) {
    try {
      return tx.immediate()
    } catch (err) {
      if (entered || !isBusy(err)) throw err
      // A connection told not to wait (busy_timeout = 0) is not made to wait here either.
      deadline ??= started + 2 * (db.pragma('busy_timeout', { simple: true }) as number)
      if (Date.now() >= deadline) throw err
      // Jittered exponential backoff, 5 ms doubling to 250 ms, so two waiting writers do not retry in step.
      const ms = Math.min(250, 5 * 2 ** attempt) * (0.5 + Math.random() / 2)
      sleepSync(Math.min(ms, deadline - Date.now()))
    }
  }
}

/** SQLITE_BUSY and its extended codes (SQLITE_BUSY_RECOVERY, _SNAPSHOT, _TIMEOUT): "database is locked". */
export function isBusy(err: unknown): boolean {
  return err instanceof Database.SqliteError && /^SQLITE_BUSY(_|$)/.test(err.code)
}

const sleeper = new Int32Array(new SharedArrayBuffer(4))
/** better-sqlite3 is synchronous, and SQLite's own busy wait blocks the same way; this keeps `fn` synchronous. */
function sleepSync(ms: number): void {
  if (ms > 0) Atomics.wait(sleeper, 0, 0, ms)
}

export interface WatchOptions {
  /** How often to look (ms). */
  intervalMs?: number
  /**
   * A cheap summary of what the listener cares about: another connection's commit that leaves it unchanged
   * (a trainer's heartbeat when only the library is watched) is not reported.
   */
  fingerprint?: () => unknown
}

/**
 * Call `onChange` after another connection (another process, or another handle in this one) commits to the
 * file `db` has open, checked every `intervalMs` (1 s). `PRAGMA data_version` moves only with other
 * connections' commits, so this connection's own writes never trigger it; they do move the fingerprint, which
 * is therefore taken again after them, so that only what the others changed counts. The timer does not keep
 * the process alive; the returned function stops it, and it stops by itself once `db` is closed.
 */
export function watchExternalCommits(db: Db, onChange: () => void, opts: WatchOptions = {}): () => void {
  const dataVersion = db.prepare('PRAGMA data_version').pluck()
  const ownChanges = db.prepare('SELECT total_changes()').pluck()
  let version = dataVersion.get()
  let own = ownChanges.get()
  let print = opts.fingerprint?.()
  const timer = setInterval(() => {
    if (!db.open) return clearInterval(timer)
    try {
      const v = dataVersion.get()
      const o = ownChanges.get()
      if (v === version && o === own) return
      const external = v !== version
      version = v
      own = o
      if (!opts.fingerprint) {
        if (external) onChange()
        return
      }
      const before = print
      print = opts.fingerprint()
      if (external && print !== before) onChange()
    } catch {
      // Busy for a moment: the next tick sees the change.
    }
  }, opts.intervalMs ?? 1000)
  timer.unref()
  return () => clearInterval(timer)
}
