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
  for (let v = current; v < target; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v])
      db.pragma(`user_version = ${v + 1}`)
      db.pragma(`application_id = ${APPLICATION_ID}`)
    })()
  }
  return Math.max(current, target)
}

/** Run `fn` in one transaction (nested calls become savepoints). */
export function transaction<T>(db: Db, fn: () => T): T {
  return db.transaction(fn)()
}
