// Import a folder of images into the library: walk it lazily, read + hash + parse the header of each file
// with a small pool of async reads, and commit in batches (one transaction each), so a crash leaves whole
// batches and a second import completes the rest (content hashes make it idempotent). No pixels are
// decoded and no thumbnails are made here: that is what keeps 50,000 images fast and memory flat.
// The import's row in `imports` is brought up to date inside each batch's transaction, so after a kill it
// counts exactly the rows that were committed (the next open marks it `interrupted`, counts kept).
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile, readdir, realpath, stat } from 'node:fs/promises'
import { basename, extname, join, resolve } from 'node:path'
import type {
  ImportFailure,
  ImportProgressEvent,
  ImportRequest,
  ImportSummary,
  Roi
} from '../../shared/types'
import { transaction, type Db } from '../db/database'
import { ImageFormatError } from '../../shared/netpbm'
import { IMAGE_EXTENSIONS, readImageHeader } from '../image/format'
import { scaleRoi, type GtsrbAnnotation } from '../image/roi'
import {
  compareClassKeys,
  folderLabelOf,
  groupKeyOf,
  isGtsrbCsvHeader,
  parseGtsrbCsv,
  parseNamesCsv
} from './labelSources'
import type { NewImage, Repository } from '../db/libraryRepo'
import { cap, reasonOf, userMessage } from '../errors/userError'
import { messageError } from '../errors'
import { formatMessage, type MessageKey } from '../../shared/messages'

export interface ImportOptions {
  importId: number
  signal?: AbortSignal
  onProgress?: (event: ImportProgressEvent) => void
  /** Files per transaction. */
  batchSize?: number
  /** Concurrent file reads. */
  concurrency?: number
  /** Minimum milliseconds between progress events (the terminal event is always sent). */
  progressIntervalMs?: number
}

type WalkEntry = { path: string } | { failure: ImportFailure }

/** Depth-first walk in name order (numeric-aware), following directory links once, reporting link problems. */
export async function* walkImages(root: string, visited = new Set<string>()): AsyncGenerator<WalkEntry> {
  let real: string
  try {
    real = await realpath(root)
  } catch (err) {
    yield { failure: failure(root, 'importFile.cannotOpenFolder', errParts(err)) }
    return
  }
  if (visited.has(real)) {
    yield { failure: failure(root, 'importFile.loop', { path: real }) }
    return
  }
  visited.add(real)
  let entries
  try {
    entries = await readdir(root, { withFileTypes: true })
  } catch (err) {
    yield { failure: failure(root, 'importFile.cannotList', errParts(err)) }
    return
  }
  entries.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }))
  for (const e of entries) {
    const full = join(root, e.name)
    let isDir = e.isDirectory()
    let isFile = e.isFile()
    if (e.isSymbolicLink()) {
      try {
        const st = await stat(full)
        isDir = st.isDirectory()
        isFile = st.isFile()
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        const reason =
          code === 'ENOENT'
            ? failure(full, 'importFile.brokenLink')
            : code === 'ELOOP'
              ? failure(full, 'importFile.linkLoop')
              : failure(full, 'importFile.cannotFollow', errParts(err))
        // Only links that look like images or folders are worth a line in the report.
        if (IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase()) || extname(e.name) === '')
          yield { failure: reason }
        continue
      }
    }
    if (isDir) yield* walkImages(full, visited)
    else if (isFile && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) yield { path: full }
  }
}

/** A file's failure worded from the catalogue, so the import's report reads in the UI's language. */
function failure(path: string, key: MessageKey, params: Record<string, string> = {}): ImportFailure {
  return { path, reason: formatMessage(key, params), code: key, params }
}

/** Why a file system call failed, as the `{reason}` of a coded failure (itself coded). */
function errParts(err: unknown): { reason: string } & Record<string, string> {
  const e = err as NodeJS.ErrnoException
  const short = (key: MessageKey) => ({ reason: formatMessage(key), reasonCode: key, reasonParams: '{}' })
  if (e.code === 'EACCES' || e.code === 'EPERM') return short('importFile.permission')
  if (e.code === 'ENOENT') return short('importFile.notFound')
  if (e.code === 'EISDIR') return short('importFile.isFolder')
  return reasonOf(err)
}

interface ReadOk {
  path: string
  hash: string
  format: NewImage['format']
  sizeBytes: number
  width: number
  height: number
}

async function readOne(path: string): Promise<ReadOk | ImportFailure> {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (err) {
    return failure(path, 'importFile.cannotRead', errParts(err))
  }
  try {
    const h = readImageHeader(bytes)
    const hash = createHash('sha1').update(bytes).digest('hex')
    return { path, hash, format: h.format, sizeBytes: bytes.length, width: h.width, height: h.height }
  } catch (err) {
    if (err instanceof ImageFormatError) return { path, reason: err.message }
    // A decoder's own error can quote the bytes it choked on: the reason goes to the client, so it is capped.
    return { path, reason: `unreadable image: ${cap(String((err as Error).message ?? err), 200)}` }
  }
}

/** Run `fn` over `items` with at most `limit` in flight; results keep the input order. */
async function mapPool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i])
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}

/** Find the GTSRB annotation CSVs for an import: the given one, else every matching CSV in the tree. */
async function loadAnnotations(req: ImportRequest, root: string): Promise<Map<string, GtsrbAnnotation>> {
  if (req.annotationsCsv) {
    const text = await readText(req.annotationsCsv, 'import.cannotReadAnnotations')
    // Shared annotation files list paths relative to the imported folder (`0/00001_00000.ppm`).
    return parseGtsrbCsv(text, root)
  }
  const all = new Map<string, GtsrbAnnotation>()
  const found: string[] = []
  const visit = async (dir: string, depth: number): Promise<void> => {
    if (depth > 8) return
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, e.name)
      if (e.isDirectory()) await visit(full, depth + 1)
      else if (e.isFile() && e.name.toLowerCase().endsWith('.csv')) {
        const text = await readFile(full, 'utf8')
        if (isGtsrbCsvHeader(text.slice(0, text.indexOf('\n') >>> 0))) {
          found.push(full)
          // GTSRB's own GT-000NN.csv lists file names relative to the CSV's folder.
          for (const [k, v] of parseGtsrbCsv(text, resolve(full, '..'))) all.set(k, v)
        }
      }
    }
  }
  await visit(root, 0)
  if (found.length === 0) {
    throw messageError('import.noCsv', { path: root })
  }
  return all
}

async function readText(
  path: string,
  what: 'import.cannotReadNames' | 'import.cannotReadAnnotations'
): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    throw messageError(what, { path, ...reasonOf(err) })
  }
}

/**
 * Import `req.folder`. Throws only for problems with the request itself (missing folder, bad CSV); file
 * problems are collected in `failed` and the import goes on. Resolves with status `cancelled` when the signal
 * fires (committed batches stay) and `failed` when the database fails mid-way.
 */
export async function runImport(
  db: Db,
  repo: Repository,
  req: ImportRequest,
  opts: ImportOptions
): Promise<ImportSummary> {
  const started = Date.now()
  const root = resolve(req.folder)
  const batchSize = opts.batchSize ?? 500
  const concurrency = opts.concurrency ?? 16
  const interval = opts.progressIntervalMs ?? 100
  const st = await stat(root).catch(() => null)
  if (!st) throw messageError('import.folderNotFound', { path: root })
  if (!st.isDirectory()) throw messageError('import.notAFolder', { path: root })
  const names = req.namesCsv
    ? parseNamesCsv(await readText(req.namesCsv, 'import.cannotReadNames'))
    : new Map<string, string>()
  const annotations = req.labels === 'gtsrb-csv' ? await loadAnnotations(req, root) : null

  const failed: ImportFailure[] = []
  let imported = 0
  let skippedDuplicates = 0
  let moved = 0
  let done = 0
  let total = 0
  let phase: ImportProgressEvent['phase'] = 'scanning'
  let lastEmit = 0
  const emit = (force = false, error?: string): void => {
    const now = Date.now()
    if (!force && now - lastEmit < interval) return
    lastEmit = now
    const seconds = Math.max((now - started) / 1000, 1e-3)
    const rate = done / seconds
    opts.onProgress?.({
      importId: opts.importId,
      phase,
      done,
      total,
      rate: Math.round(rate * 10) / 10,
      etaSeconds: phase === 'importing' && rate > 0 ? Math.round(((total - done) / rate) * 10) / 10 : null,
      imported,
      skippedDuplicates,
      failed: failed.length,
      ...(error ? { error } : {})
    })
  }
  const summary = (status: ImportSummary['status'], error?: string): ImportSummary => {
    const seconds = (Date.now() - started) / 1000
    try {
      transaction(db, () =>
        repo.finishImport(opts.importId, {
          status,
          imported,
          skippedDuplicates,
          moved,
          failed: failed.length,
          finishedAt: new Date().toISOString()
        })
      )
    } catch (err) {
      // The database that failed the import may fail this too. The row keeps the counts of the last committed
      // batch and reads as `interrupted` on the next open; the caller still gets what happened.
      console.error(`import ${opts.importId}: could not record its end (${status}):`, err)
    }
    return {
      importId: opts.importId,
      status,
      imported,
      skippedDuplicates,
      moved,
      failed,
      classes: repo.listClasses(),
      seconds: Math.round(seconds * 1000) / 1000,
      ...(error ? { error } : {})
    }
  }

  emit(true)
  // Scan: only paths are held (a 50,000-file tree is a few MB of strings), which gives a total for the ETA.
  const paths: string[] = []
  for await (const entry of walkImages(root)) {
    if (opts.signal?.aborted) break
    if ('failure' in entry) failed.push(entry.failure)
    else paths.push(entry.path)
    total = paths.length + failed.length
    done = failed.length
    emit()
  }
  if (opts.signal?.aborted) {
    phase = 'cancelled'
    emit(true)
    return summary('cancelled')
  }

  try {
    const classOf = ensureClasses(db, repo, paths, root, req, names, annotations)
    phase = 'importing'
    emit(true)
    for (let start = 0; start < paths.length; start += batchSize) {
      if (opts.signal?.aborted) break
      const results = await mapPool(paths.slice(start, start + batchSize), concurrency, readOne)
      if (opts.signal?.aborted) break
      const importedAt = new Date().toISOString()
      // Files that could not be read are known whatever the database does; rows are counted per batch and
      // added only once the batch has committed, so a rolled-back batch counts nothing.
      const readable: ReadOk[] = []
      for (const r of results) {
        if ('reason' in r) failed.push(r)
        else readable.push(r)
      }
      const batch = { imported: 0, skippedDuplicates: 0, moved: 0 }
      transaction(db, () => {
        for (const r of readable) {
          const label = classOf(r.path, r.width, r.height)
          const fileName = basename(r.path)
          const row: NewImage = {
            ...r,
            fileName,
            importRoot: root,
            classId: label.classId,
            groupKey: groupKeyOf(fileName),
            roi: label.roi,
            cropToRoi: label.roi !== null && req.cropToRoi === true,
            importedAt,
            importId: opts.importId
          }
          const same = repo.imageByHash(r.hash)
          if (same) {
            if (same.path === r.path || existsSync(same.path) || repo.imageByPath(r.path))
              batch.skippedDuplicates++
            else {
              repo.moveImage(same.id, r.path, fileName, root, row.groupKey)
              batch.moved++
            }
            continue
          }
          const atPath = repo.imageByPath(r.path)
          if (atPath) repo.replaceContent(atPath.id, row)
          else repo.insertImage(row)
          batch.imported++
        }
        // In the batch's own transaction: a kill after this commit finds the row counting this batch, and a
        // kill before it finds neither the rows nor the counts. While `running`, finished_at is the time of
        // the last committed batch (the repository has no progress-only update yet).
        repo.finishImport(opts.importId, {
          status: 'running',
          imported: imported + batch.imported,
          skippedDuplicates: skippedDuplicates + batch.skippedDuplicates,
          moved: moved + batch.moved,
          failed: failed.length,
          finishedAt: importedAt
        })
      })
      imported += batch.imported
      skippedDuplicates += batch.skippedDuplicates
      moved += batch.moved
      done += results.length
      emit()
    }
  } catch (err) {
    phase = 'failed'
    // Also what the progress event and the summary carry to the client: no raw SQLite text.
    const message = userMessage(err)
    emit(true, message)
    return summary('failed', message)
  }
  phase = opts.signal?.aborted ? 'cancelled' : 'done'
  emit(true)
  return summary(phase === 'cancelled' ? 'cancelled' : 'done')
}

/**
 * Create the classes this import needs (numeric keys in numeric order, so positions match GTSRB ids) in one
 * transaction, and return the labeller for a file. Existing classes are reused; a names CSV renames only
 * classes whose name is still their key (a user's rename wins).
 */
function ensureClasses(
  db: Db,
  repo: Repository,
  paths: readonly string[],
  root: string,
  req: ImportRequest,
  names: Map<string, string>,
  annotations: Map<string, GtsrbAnnotation> | null
): (path: string, width: number, height: number) => { classId: number | null; roi: Roi | null } {
  const keys = new Set<string>()
  for (const p of paths) {
    const key = req.labels === 'folders' ? folderLabelOf(p, root) : (annotations?.get(p)?.classId ?? null)
    if (key !== null) keys.add(key)
  }
  const ids = new Map<string, number>()
  transaction(db, () => {
    for (const key of [...keys].sort(compareClassKeys)) {
      const existing = repo.classByKey(key)
      const name = names.get(key)
      if (existing) {
        if (name && existing.name === existing.key && name !== existing.name)
          repo.renameClass(existing.id, name)
        ids.set(key, existing.id)
      } else ids.set(key, repo.insertClass(key, name ?? key))
    }
  })
  return (path, width, height) => {
    if (req.labels === 'folders') {
      const key = folderLabelOf(path, root)
      return { classId: key === null ? null : (ids.get(key) ?? null), roi: null }
    }
    if (annotations) {
      const ann = annotations.get(path)
      if (!ann) return { classId: null, roi: null }
      return { classId: ids.get(ann.classId) ?? null, roi: scaleRoi(ann, width, height) }
    }
    return { classId: null, roi: null }
  }
}
