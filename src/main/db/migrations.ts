// Every schema migration of a project file, in order, in one module: the database module applies them and the
// repositories only read what they add, so neither imports the other for the schema.

/** Ordered migrations; index i brings the schema from version i to i + 1. Never edit a released one. */
export const MIGRATIONS: string[] = [
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

  `
  ALTER TABLE runs ADD COLUMN backend TEXT;
  ALTER TABLE runs ADD COLUMN run_dir TEXT;
  ALTER TABLE runs ADD COLUMN finished_at TEXT;
  ALTER TABLE runs ADD COLUMN error TEXT;
  ALTER TABLE runs ADD COLUMN evaluation_json TEXT;
  CREATE TABLE run_epochs (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    epoch INTEGER NOT NULL,
    train_loss REAL NOT NULL,
    train_accuracy REAL NOT NULL,
    val_loss REAL,
    val_accuracy REAL,
    seconds REAL NOT NULL,
    PRIMARY KEY (run_id, epoch)
  ) WITHOUT ROWID;
  `,
  // The threads a train step ran on (2 when data-parallel on wasm), so a reloaded run still shows them.
  `ALTER TABLE runs ADD COLUMN threads INTEGER;`,
  // The train/val image counts a run started with, for the run list and the estimate of a run as a base.
  `
  ALTER TABLE runs ADD COLUMN train_images INTEGER;
  ALTER TABLE runs ADD COLUMN val_images INTEGER;
  `,
  // The process training a run (its pid and host) and its last heartbeat (ms since the epoch), so opening a
  // project fails only runs whose trainer is gone, not one another process is training right now.
  `
  ALTER TABLE runs ADD COLUMN owner_pid INTEGER;
  ALTER TABLE runs ADD COLUMN owner_host TEXT;
  ALTER TABLE runs ADD COLUMN heartbeat_at INTEGER;
  `,
  // The same for imports: the importing process and the time of its last committed batch, so opening a
  // project marks interrupted only an import whose process is gone, not a CLI import running right now.
  `
  ALTER TABLE imports ADD COLUMN owner_pid INTEGER;
  ALTER TABLE imports ADD COLUMN owner_host TEXT;
  ALTER TABLE imports ADD COLUMN heartbeat_at INTEGER;
  `,
  // The data review's decisions (src/main/review): a label a user kept, or a suggestion they took, for the
  // class the image had then; the review leaves the image out while its label is still that class.
  `
  CREATE TABLE review_decisions (
    image_id INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
    decision TEXT NOT NULL CHECK (decision IN ('accept', 'keep')),
    class_id INTEGER NOT NULL,
    decided_at TEXT NOT NULL
  );
  `
]
