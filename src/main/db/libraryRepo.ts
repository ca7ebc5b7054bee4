// Repository functions: every SQL statement of the library lives here, prepared once per open database.
// Services call these and never write SQL themselves.
import { hostname } from 'node:os'
import type {
  ClassInfo,
  ImageDetail,
  ImageFilter,
  ImageFormat,
  ImageSortKey,
  ImageSummary,
  LibraryStats,
  Roi,
  Split
} from '../../shared/types'
import type Database from 'better-sqlite3'
import { transaction, type Db } from './database'

/** A new image as the importer hands it over. */
export interface NewImage {
  path: string
  fileName: string
  importRoot: string
  hash: string
  format: ImageFormat
  sizeBytes: number
  width: number
  height: number
  classId: number | null
  groupKey: string | null
  roi: Roi | null
  cropToRoi: boolean
  importedAt: string
  importId: number
}

/** What the ML engine needs per image. */
export interface TrainingImage {
  id: number
  path: string
  hash: string
  classId: number | null
  split: Split | null
  width: number
  height: number
  roi: Roi | null
  /** Crop to `roi` when reading pixels (set by a GTSRB-CSV import with cropToRoi). */
  cropToRoi: boolean
}

interface ImageRow {
  id: number
  path: string
  file_name: string
  import_root: string
  hash: string
  format: ImageFormat
  size_bytes: number
  width: number
  height: number
  class_id: number | null
  split: Split | null
  group_key: string | null
  roi_x1: number | null
  roi_y1: number | null
  roi_x2: number | null
  roi_y2: number | null
  crop_to_roi: number
  imported_at: string
}

const roiOf = (r: Pick<ImageRow, 'roi_x1' | 'roi_y1' | 'roi_x2' | 'roi_y2'>): Roi | null =>
  r.roi_x1 === null
    ? null
    : { x1: r.roi_x1, y1: r.roi_y1 as number, x2: r.roi_x2 as number, y2: r.roi_y2 as number }

const SORT_COLUMNS: Record<Exclude<ImageSortKey, 'confidence'>, string> = {
  id: 'i.id',
  fileName: 'i.file_name',
  class: 'i.class_id',
  importedAt: 'i.imported_at'
}

/** Above this many index hits a search is answered by a scan instead (see `searchClause`). */
const SEARCH_PROBE_LIMIT = 2000
const SEARCH_PROBE = `SELECT COUNT(*) AS n FROM
  (SELECT 1 FROM images_name_fts WHERE images_name_fts MATCH ? LIMIT ${SEARCH_PROBE_LIMIT})`

/** SQLite's default limit on bound parameters is 32766; stay far below it. */
const CHUNK = 500

export function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

export type Repository = ReturnType<typeof createRepository>

export function createRepository(db: Db) {
  const s = {
    insertImage:
      db.prepare(`INSERT INTO images (path, file_name, import_root, hash, format, size_bytes, width, height,
      class_id, group_key, roi_x1, roi_y1, roi_x2, roi_y2, crop_to_roi, imported_at, import_id)
      VALUES (@path, @fileName, @importRoot, @hash, @format, @sizeBytes, @width, @height, @classId, @groupKey,
      @x1, @y1, @x2, @y2, @crop, @importedAt, @importId)`),
    byHash: db.prepare('SELECT id, path FROM images WHERE hash = ?'),
    byPath: db.prepare('SELECT id, hash FROM images WHERE path = ?'),
    movePath: db.prepare(
      'UPDATE images SET path = ?, file_name = ?, import_root = ?, group_key = ? WHERE id = ?'
    ),
    replaceContent: db.prepare(`UPDATE images SET hash = @hash, format = @format, size_bytes = @sizeBytes,
      width = @width, height = @height, imported_at = @importedAt, import_id = @importId WHERE id = @id`),
    image: db.prepare('SELECT * FROM images WHERE id = ?'),
    classes: db.prepare(`SELECT c.id, c.key, c.name, c.position,
      (SELECT COUNT(*) FROM images i WHERE i.class_id = c.id) AS count FROM classes c ORDER BY c.position, c.id`),
    classById: db.prepare(`SELECT c.id, c.key, c.name, c.position,
      (SELECT COUNT(*) FROM images i WHERE i.class_id = c.id) AS count FROM classes c WHERE c.id = ?`),
    classByKey: db.prepare('SELECT id, key, name, position FROM classes WHERE key = ?'),
    insertClass: db.prepare('INSERT INTO classes (key, name, position) VALUES (?, ?, ?)'),
    maxPosition: db.prepare('SELECT COALESCE(MAX(position), -1) AS p FROM classes'),
    renameClass: db.prepare('UPDATE classes SET name = ? WHERE id = ?'),
    deleteClass: db.prepare('DELETE FROM classes WHERE id = ?'),
    classIdsByPosition: db.prepare('SELECT id FROM classes ORDER BY position, id'),
    setPosition: db.prepare('UPDATE classes SET position = ? WHERE id = ?'),
    reassign: db.prepare('UPDATE images SET class_id = ? WHERE class_id = ?'),
    setLabel: db.prepare('UPDATE images SET class_id = ? WHERE id = ?'),
    setLabelIf: db.prepare('UPDATE images SET class_id = ? WHERE id = ? AND class_id IS ?'),
    classExists: db.prepare('SELECT 1 FROM classes WHERE id = ?'),
    setSplit: db.prepare('UPDATE images SET split = ? WHERE id = ?'),
    clearSplits: db.prepare('UPDATE images SET split = NULL WHERE split IS NOT NULL'),
    labelled: db.prepare(
      'SELECT id, class_id AS classId, group_key AS groupKey, file_name AS fileName, path FROM images WHERE class_id IS NOT NULL ORDER BY id'
    ),
    stats: db.prepare(`SELECT COUNT(*) AS images, COUNT(class_id) AS labelled,
      SUM(split = 'train') AS train, SUM(split = 'val') AS val, SUM(split = 'test') AS test FROM images`),
    interruptImport: db.prepare(
      "UPDATE imports SET status = 'interrupted' WHERE id = ? AND status = 'running'"
    ),
    // Prepared on first use: they name the owner columns of a later migration, and a repository may be
    // created on an older file (a migration's own test) that never imports.
    ...lazyStatements({
      insertImport: () =>
        db.prepare(
          "INSERT INTO imports (folder, label_source, started_at, status, owner_pid, owner_host, heartbeat_at) VALUES (?, ?, ?, 'running', ?, ?, ?)"
        ),
      finishImport: () =>
        db.prepare(`UPDATE imports SET finished_at = @finishedAt, status = @status, imported = @imported,
      skipped_duplicates = @skippedDuplicates, moved = @moved, failed = @failed, heartbeat_at = @now WHERE id = @id`),
      runningImports: () =>
        db.prepare("SELECT id, owner_pid, owner_host, heartbeat_at FROM imports WHERE status = 'running'")
    }),
    // Sums over covering indexes, not a hash: a label change moves TOTAL(id * class_id) (a swap of two labels
    // too), a new split moves the sums of ids per split, a class edit the classes' text.
    fingerprint: db
      .prepare(
        `SELECT (SELECT COUNT(*) || ':' || TOTAL(class_id) || ':' || TOTAL(id * class_id) FROM images INDEXED BY images_class)
      || '|' || (SELECT TOTAL(id) FROM images WHERE split = 'val') || ':' || (SELECT TOTAL(id) FROM images WHERE split = 'test')
      || ':' || (SELECT COUNT(*) FROM images WHERE split = 'train')
      || '|' || (SELECT group_concat(id || ':' || position || ':' || name, ',') FROM (SELECT * FROM classes ORDER BY id))`
      )
      .pluck()
  }

  /** WHERE clause and parameters for a filter (AND of every given field). */
  function where(filter: ImageFilter): {
    sql: string
    params: unknown[]
    join: string
    joinParams: unknown[]
  } {
    const parts: string[] = []
    const params: unknown[] = []
    let join = ''
    const joinParams: unknown[] = []
    if (filter.classIds && filter.classIds.length > 0) {
      parts.push(`i.class_id IN (${filter.classIds.map(() => '?').join(',')})`)
      params.push(...filter.classIds)
    } else if (filter.classIds) parts.push('0') // an explicit empty list matches nothing
    if (filter.unlabelled) parts.push('i.class_id IS NULL')
    if (filter.split === 'none') parts.push('i.split IS NULL')
    else if (filter.split) {
      parts.push('i.split = ?')
      params.push(filter.split)
    }
    if (filter.search) {
      const clause = searchClause(filter.search)
      parts.push(clause.sql)
      params.push(clause.param)
    }
    if (filter.disagreesWithRun !== undefined) {
      join = 'JOIN predictions d ON d.image_id = i.id AND d.run_id = ?'
      joinParams.push(filter.disagreesWithRun)
      parts.push('i.class_id IS NOT NULL AND d.class_id IS NOT i.class_id')
    }
    // One JSON parameter however long the list (a map region can hold 50,000 ids; SQLite caps a statement's
    // parameters far below that, and a statement per list length would fill the statement cache).
    if (filter.imageIds) {
      parts.push('i.id IN (SELECT value FROM json_each(?))')
      params.push(JSON.stringify(filter.imageIds))
    }
    return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params, join, joinParams }
  }

  /**
   * A case-insensitive substring search on file names. A name that few files share is looked up in the
   * trigram index (a page and its total then cost well under a millisecond at 50,000 images); text shorter
   * than a trigram, or so common that most files match, is cheaper as a plain scan, which stops early
   * when the page fills up.
   */
  function searchClause(text: string): { sql: string; param: string } {
    if ([...text].length >= 3) {
      const phrase = `"${text.replace(/"/g, '""')}"`
      const hits = (prep(SEARCH_PROBE).get(phrase) as { n: number }).n
      if (hits < SEARCH_PROBE_LIMIT) {
        return {
          sql: 'i.id IN (SELECT rowid FROM images_name_fts WHERE images_name_fts MATCH ?)',
          param: phrase
        }
      }
    }
    // LIKE is case-insensitive for ASCII; escape its wildcards so the text is matched literally.
    return { sql: "i.file_name LIKE ? ESCAPE '\\'", param: `%${text.replace(/[\\%_]/g, (c) => '\\' + c)}%` }
  }

  function orderBy(sort: { key: ImageSortKey; descending?: boolean } | undefined, hasRun: boolean): string {
    const dir = sort?.descending ? 'DESC' : 'ASC'
    if (!sort || sort.key === 'id') return `i.id ${dir}`
    if (sort.key === 'confidence') {
      if (!hasRun) throw new Error('sorting by confidence needs a runId')
      return `p.confidence ${dir}, i.id ${dir}`
    }
    return `${SORT_COLUMNS[sort.key]} ${dir}, i.id ${dir}`
  }

  /**
   * Totals are cached while the database is unchanged: scrolling the grid asks for many pages of one filter,
   * and a substring search has to scan every file name to count. `total_changes()` moves with every write of
   * this connection and `data_version` with every commit of another one, so a stale total is never served.
   */
  /** Filter queries are built from a handful of shapes; preparing each shape once saves a parse per page. */
  const statements = new Map<string, Database.Statement>()
  const prep = (sql: string): Database.Statement => {
    let st = statements.get(sql)
    if (!st) {
      if (statements.size > 200) statements.clear()
      statements.set(sql, (st = db.prepare(sql)))
    }
    return st
  }

  const countCache = new Map<string, number>()
  let countGeneration = ''
  const generation = db.prepare('SELECT total_changes() AS c')
  function count(sql: string, params: unknown[]): number {
    const gen = `${(generation.get() as { c: number }).c}:${db.pragma('data_version', { simple: true })}`
    if (gen !== countGeneration) {
      countCache.clear()
      countGeneration = gen
    }
    const key = `${sql}\u0000${JSON.stringify(params)}`
    let n = countCache.get(key)
    if (n === undefined) {
      n = (prep(sql).get(...params) as { n: number }).n
      if (countCache.size > 100) countCache.clear()
      countCache.set(key, n)
    }
    return n
  }

  return {
    insertImage(img: NewImage): number {
      const r = s.insertImage.run({
        ...img,
        crop: img.cropToRoi ? 1 : 0,
        x1: img.roi?.x1 ?? null,
        y1: img.roi?.y1 ?? null,
        x2: img.roi?.x2 ?? null,
        y2: img.roi?.y2 ?? null
      })
      return Number(r.lastInsertRowid)
    },
    imageByHash: (hash: string) => s.byHash.get(hash) as { id: number; path: string } | undefined,
    imageByPath: (path: string) => s.byPath.get(path) as { id: number; hash: string } | undefined,
    moveImage(id: number, path: string, fileName: string, importRoot: string, groupKey: string | null): void {
      s.movePath.run(path, fileName, importRoot, groupKey, id)
    },
    /** The file at a known path now has other content: keep the row (and its label), take the new bytes. */
    replaceContent(id: number, img: NewImage): void {
      s.replaceContent.run({
        id,
        ...pick(img, ['hash', 'format', 'sizeBytes', 'width', 'height', 'importedAt', 'importId'])
      })
    },

    imageDetail(id: number): ImageDetail | null {
      const r = s.image.get(id) as ImageRow | undefined
      if (!r) return null
      return {
        id: r.id,
        fileName: r.file_name,
        classId: r.class_id,
        split: r.split,
        width: r.width,
        height: r.height,
        path: r.path,
        importRoot: r.import_root,
        hash: r.hash,
        format: r.format,
        sizeBytes: r.size_bytes,
        groupKey: r.group_key,
        roi: roiOf(r),
        importedAt: r.imported_at
      }
    },
    /** Path, hash and crop information of one image (media and pixel reads). */
    imageSource(id: number): TrainingImage | null {
      const r = s.image.get(id) as ImageRow | undefined
      return r ? trainingImage(r) : null
    },

    query(
      filter: ImageFilter,
      sort: { key: ImageSortKey; descending?: boolean } | undefined,
      runId: number | undefined,
      offset: number,
      limit: number
    ): { total: number; items: ImageSummary[] } {
      const w = where(filter)
      const hasRun = runId !== undefined
      const total = count(`SELECT COUNT(*) AS n FROM images i ${w.join} ${w.sql}`, [
        ...w.joinParams,
        ...w.params
      ])
      const runCols = hasRun ? ', p.class_id AS predictedClassId, p.confidence AS confidence' : ''
      const runJoin = hasRun ? 'LEFT JOIN predictions p ON p.image_id = i.id AND p.run_id = ?' : ''
      const sql = `SELECT i.id, i.file_name AS fileName, i.class_id AS classId, i.split, i.width, i.height, i.hash${runCols}
        FROM images i ${w.join} ${runJoin} ${w.sql} ORDER BY ${orderBy(sort, hasRun)} LIMIT ? OFFSET ?`
      const params = [...w.joinParams, ...(hasRun ? [runId] : []), ...w.params, limit, offset]
      const items = prep(sql).all(...params) as ImageSummary[]
      return { total, items }
    },
    queryIds(
      filter: ImageFilter,
      sort: { key: ImageSortKey; descending?: boolean } | undefined,
      runId?: number
    ): number[] {
      const w = where(filter)
      const hasRun = runId !== undefined
      const runJoin = hasRun ? 'LEFT JOIN predictions p ON p.image_id = i.id AND p.run_id = ?' : ''
      const sql = `SELECT i.id FROM images i ${w.join} ${runJoin} ${w.sql} ORDER BY ${orderBy(sort, hasRun)}`
      return prep(sql)
        .pluck(true)
        .all(...w.joinParams, ...(hasRun ? [runId] : []), ...w.params) as number[]
    },

    stats(): LibraryStats {
      const r = s.stats.get() as {
        images: number
        labelled: number
        train: number
        val: number
        test: number
      }
      const train = r.train ?? 0
      const val = r.val ?? 0
      const test = r.test ?? 0
      return {
        images: r.images,
        labelled: r.labelled,
        unlabelled: r.images - r.labelled,
        splits: { train, val, test, none: r.images - train - val - test }
      }
    },

    /** Current labels of the given ids (ids that do not exist are absent from the map). */
    labelsOf(ids: readonly number[]): Map<number, number | null> {
      const out = new Map<number, number | null>()
      for (const part of chunks(ids)) {
        const rows = prep(
          `SELECT id, class_id FROM images WHERE id IN (${part.map(() => '?').join(',')})`
        ).all(...part) as { id: number; class_id: number | null }[]
        for (const r of rows) out.set(r.id, r.class_id)
      }
      return out
    },
    /**
     * The given ids that are not (or no longer) images of the library: one statement however many ids, and
     * quick when none is missing (50,000 ids: about 20 ms).
     */
    missingImageIds(ids: readonly number[]): Set<number> {
      if (ids.length === 0) return new Set()
      const rows = prep(
        `SELECT j.value AS id FROM json_each(?) j WHERE NOT EXISTS (SELECT 1 FROM images i WHERE i.id = j.value)`
      ).all(JSON.stringify(ids)) as { id: number }[]
      return new Set(rows.map((r) => r.id))
    },
    setLabel: (id: number, classId: number | null): void => void s.setLabel.run(classId, id),
    /** Set a label only where it is still `expected` (undo/redo); returns whether the row changed. */
    setLabelIf: (id: number, classId: number | null, expected: number | null): boolean =>
      s.setLabelIf.run(classId, id, expected).changes === 1,
    classExists: (id: number): boolean => s.classExists.get(id) !== undefined,

    listClasses: (): ClassInfo[] => s.classes.all() as ClassInfo[],
    classById: (id: number): ClassInfo | null => (s.classById.get(id) as ClassInfo | undefined) ?? null,
    classByKey: (key: string) => s.classByKey.get(key) as Omit<ClassInfo, 'count'> | undefined,
    insertClass(key: string, name: string): number {
      const position = (s.maxPosition.get() as { p: number }).p + 1
      return Number(s.insertClass.run(key, name, position).lastInsertRowid)
    },
    renameClass: (id: number, name: string): void => void s.renameClass.run(name, id),
    /** Move every image of one class to another (or unlabel with null); returns how many moved. */
    reassignClass: (fromId: number, toId: number | null): number => s.reassign.run(toId, fromId).changes,
    deleteClass: (id: number): void => void s.deleteClass.run(id),
    /** Make positions 0..n-1 again after a delete, keeping their order. */
    compactPositions(): void {
      const ids = s.classIdsByPosition.pluck().all() as number[]
      ids.forEach((id, i) => s.setPosition.run(i, id))
    },

    labelledForSplit: () =>
      s.labelled.all() as {
        id: number
        classId: number
        groupKey: string | null
        fileName: string
        path: string
      }[],
    clearSplits: (): void => void s.clearSplits.run(),
    setSplit: (id: number, split: Split | null): void => void s.setSplit.run(split, id),

    /** Images for training/evaluation; `split` filters, labelled only unless `includeUnlabelled`. */
    trainingImages(opts: { split?: Split | 'none'; includeUnlabelled?: boolean } = {}): TrainingImage[] {
      const parts: string[] = []
      const params: unknown[] = []
      if (!opts.includeUnlabelled) parts.push('class_id IS NOT NULL')
      if (opts.split === 'none') parts.push('split IS NULL')
      else if (opts.split) {
        parts.push('split = ?')
        params.push(opts.split)
      }
      const rows = db
        .prepare(`SELECT * FROM images ${parts.length ? 'WHERE ' + parts.join(' AND ') : ''} ORDER BY id`)
        .all(...params) as ImageRow[]
      return rows.map(trainingImage)
    },

    /** A new import, owned by this process (see markInterruptedImports). */
    startImport: (folder: string, labelSource: string, at: string): number =>
      Number(
        s.insertImport().run(folder, labelSource, at, process.pid, hostname(), Date.now()).lastInsertRowid
      ),
    finishImport(
      id: number,
      r: {
        status: string
        imported: number
        skippedDuplicates: number
        moved: number
        failed: number
        finishedAt: string
      }
    ): void {
      s.finishImport().run({ id, ...r, now: Date.now() })
    },

    /**
     * Imports still `running` when a project is opened were cut short by a crash or a kill, unless their
     * process still runs (another window, a CLI import): on this host its pid decides, on another its last
     * batch must be recent. Rows from before owners were recorded have none and are interrupted.
     */
    markInterruptedImports(now = Date.now()): number {
      return transaction(db, () => {
        let n = 0
        for (const r of s.runningImports().all() as {
          id: number
          owner_pid: number | null
          owner_host: string | null
          heartbeat_at: number | null
        }[]) {
          const owner =
            r.owner_pid !== null && r.owner_host !== null
              ? { pid: r.owner_pid, host: r.owner_host, heartbeatAt: r.heartbeat_at ?? 0 }
              : null
          if (importOwnerAlive(owner, now)) continue
          n += s.interruptImport.run(r.id).changes
        }
        return n
      })
    },

    /**
     * A value that moves with every change a library view shows (images, labels, splits, classes), so another
     * process's library change can be told from its other writes (a trainer's heartbeat). About 10 ms at
     * 50,000 images; it is taken only after a commit.
     */
    libraryFingerprint: (): string => s.fingerprint.get() as string
  }
}

function trainingImage(r: ImageRow): TrainingImage {
  return {
    id: r.id,
    path: r.path,
    hash: r.hash,
    classId: r.class_id,
    split: r.split,
    width: r.width,
    height: r.height,
    roi: roiOf(r),
    cropToRoi: r.crop_to_roi === 1
  }
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Pick<T, K> {
  const out = {} as Pick<T, K>
  for (const k of keys) out[k] = o[k]
  return out
}

/** How long an import on another host may go without a committed batch before it counts as gone. */
export const IMPORT_STALE_MS = 60_000

/** Whether the process that owns an import still runs (see markInterruptedImports). */
export function importOwnerAlive(
  owner: { pid: number; host: string; heartbeatAt: number } | null,
  now = Date.now(),
  host = hostname()
): boolean {
  if (!owner) return false
  if (owner.host !== host) return now - owner.heartbeatAt <= IMPORT_STALE_MS
  if (owner.pid === process.pid) return false // this process opens the file afresh: its own import ended
  try {
    process.kill(owner.pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH'
  }
}

/** Each factory as a getter that prepares its statement once, on first use. */
function lazyStatements<K extends string>(
  factories: Record<K, () => Database.Statement>
): Record<K, () => Database.Statement> {
  const out = {} as Record<K, () => Database.Statement>
  for (const key of Object.keys(factories) as K[]) {
    let statement: Database.Statement | undefined
    out[key] = () => (statement ??= factories[key]())
  }
  return out
}
