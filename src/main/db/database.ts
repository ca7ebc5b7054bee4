// The one database module: open a project file, bring its schema up to date, run work in a transaction.
// The schema version is SQLite's `user_version`; each migration runs in its own transaction together with
// the version bump, so a crash leaves the file at a whole version.
import Database from 'better-sqlite3'
import { RUNS_MIGRATIONS } from './runsRepo'

export type Db = Database.Database

/** Ordered migrations; index i brings the schema from version i to i + 1. Never edit a released one. */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE classes (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    position INTEGER NOT NULL
  );
  CREATE TABLE imports (
    id INTEGER PRIMARY KEY,
    folder TEXT NOT NULL,
    label_source TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL DEFAULT 'running',
    imported INTEGER NOT NULL DEFAULT 0,
    skipped_duplicates INTEGER NOT NULL DEFAULT 0,
    moved INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE images (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    file_name TEXT NOT NULL,
    import_root TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    format TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    class_id INTEGER REFERENCES classes(id) ON DELETE SET NULL,
    split TEXT CHECK (split IN ('train', 'val', 'test')),
    group_key TEXT,
    roi_x1 REAL, roi_y1 REAL, roi_x2 REAL, roi_y2 REAL,
    crop_to_roi INTEGER NOT NULL DEFAULT 0,
    imported_at TEXT NOT NULL,
    import_id INTEGER REFERENCES imports(id)
  );
  -- Every sort and filter of the browser has an index ending in id, so a page is an index range scan.
  CREATE INDEX images_class ON images (class_id, id);
  CREATE INDEX images_split ON images (split, id);
  CREATE INDEX images_file_name ON images (file_name, id);
  CREATE INDEX images_imported_at ON images (imported_at, id);
  CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    strategy TEXT NOT NULL,
    status TEXT NOT NULL,
    settings_json TEXT NOT NULL DEFAULT '{}',
    metrics_json TEXT
  );
  CREATE TABLE predictions (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    class_id INTEGER,
    confidence REAL,
    PRIMARY KEY (run_id, image_id)
  ) WITHOUT ROWID;
  CREATE INDEX predictions_confidence ON predictions (run_id, confidence);
  `,
  // File-name search: a trigram index answers substring searches without scanning every name (see
  // repository.ts `searchClause`). Triggers keep it in step with images.
  `
  CREATE VIRTUAL TABLE images_name_fts USING fts5(file_name, content = 'images', content_rowid = 'id', tokenize = 'trigram');
  CREATE TRIGGER images_name_fts_insert AFTER INSERT ON images BEGIN
    INSERT INTO images_name_fts (rowid, file_name) VALUES (new.id, new.file_name);
  END;
  CREATE TRIGGER images_name_fts_delete AFTER DELETE ON images BEGIN
    INSERT INTO images_name_fts (images_name_fts, rowid, file_name) VALUES ('delete', old.id, old.file_name);
  END;
  CREATE TRIGGER images_name_fts_update AFTER UPDATE OF file_name ON images BEGIN
    INSERT INTO images_name_fts (images_name_fts, rowid, file_name) VALUES ('delete', old.id, old.file_name);
    INSERT INTO images_name_fts (rowid, file_name) VALUES (new.id, new.file_name);
  END;
  INSERT INTO images_name_fts (images_name_fts) VALUES ('rebuild');
  `,
  // Training runs (runsRepo.ts): run columns, per-epoch curves.
  ...RUNS_MIGRATIONS
]

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
