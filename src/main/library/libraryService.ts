// The library of the open project: import, browse, label (with undo/redo), classes and splits. Each method
// is one unit of work on the repository; writes run in one transaction. Services never import Electron.
import type {
  ClassInfo,
  ImageDetail,
  ImagePage,
  ImageQuery,
  ImportProgressEvent,
  ImportRequest,
  ImportSummary,
  LabelChangeResult,
  LibraryStats,
  Split,
  SplitRequest,
  SplitSummary
} from '../../shared/types'
import { dirname } from 'node:path'
import { transaction } from '../db/database'
import { decodeImage, type RgbImage } from '../image/decode'
import { runImport } from './importer'
import type { OpenProject, ProjectService } from '../project/projectService'
import type { TrainingImage } from '../db/libraryRepo'
import { assignSplits } from './split'
import { messageError, notFoundError } from '../errors'

/** One undoable label change: the label set, and each image's label before it. */
interface LabelOp {
  ids: number[]
  before: (number | null)[]
  after: number | null
}

const MAX_UNDO = 200

/**
 * The physical track an image belongs to, for splitting by track. GTSRB numbers tracks per class folder
 * (`22/00000_*` and `24/00000_*` are different signs), so the bare track number would merge the same-numbered
 * tracks of every class into one group, which then lands whole in one split under the class that owns it:
 * some classes got no validation images at all and others several tracks. The folder makes it unique.
 */
function trackOf(path: string, groupKey: string | null): string | null {
  return groupKey === null ? null : `${dirname(path)}\u0000${groupKey}`
}

export interface LibraryEvents {
  onProgress: (event: ImportProgressEvent) => void
  onChanged: (reason: 'import' | 'labels' | 'classes' | 'splits') => void
}

export class LibraryService {
  private undoStack: LabelOp[] = []
  private redoStack: LabelOp[] = []
  private runningImport: { id: number; controller: AbortController; done: Promise<unknown> } | null = null

  constructor(
    private readonly projects: ProjectService,
    private readonly events: LibraryEvents
  ) {
    // The undo history belongs to one open project.
    projects.onDidChange(() => {
      this.undoStack = []
      this.redoStack = []
    })
  }

  private get p(): OpenProject {
    return this.projects.require()
  }

  /** True while an import runs (the project cannot be switched then). */
  get importing(): boolean {
    return this.runningImport !== null
  }

  async import(req: ImportRequest, signal?: AbortSignal): Promise<ImportSummary> {
    if (this.runningImport) throw messageError('import.running', { id: this.runningImport.id })
    const { db, repo } = this.p
    // Single writes go through `transaction` too, for its wait on another process's write lock.
    const importId = transaction(db, () => repo.startImport(req.folder, req.labels, new Date().toISOString()))
    const controller = new AbortController()
    signal?.addEventListener('abort', () => controller.abort(), { once: true })
    const done = runImport(db, repo, req, {
      importId,
      signal: controller.signal,
      onProgress: this.events.onProgress
    })
    this.runningImport = { id: importId, controller, done }
    try {
      const summary = await done
      // Even an import that added nothing may have created or renamed classes (names CSV).
      this.events.onChanged('import')
      return summary
    } catch (err) {
      transaction(db, () =>
        repo.finishImport(importId, {
          status: 'failed',
          imported: 0,
          skippedDuplicates: 0,
          moved: 0,
          failed: 0,
          finishedAt: new Date().toISOString()
        })
      )
      throw err
    } finally {
      this.runningImport = null
    }
  }

  cancelImport(importId: number): { cancelled: boolean } {
    if (!this.runningImport || this.runningImport.id !== importId) return { cancelled: false }
    this.runningImport.controller.abort()
    return { cancelled: true }
  }

  /** Abort a running import and wait until it has stopped (used before closing the project). */
  async stopImport(): Promise<void> {
    const running = this.runningImport
    if (!running) return
    running.controller.abort()
    await running.done.catch(() => undefined)
  }

  query(q: ImageQuery): ImagePage {
    const { total, items } = this.p.repo.query(q.filter, q.sort, q.runId, q.offset, q.limit)
    return { total, offset: q.offset, items }
  }

  queryIds(q: Omit<ImageQuery, 'offset' | 'limit'>): number[] {
    return this.p.repo.queryIds(q.filter, q.sort, q.runId)
  }

  image(id: number): ImageDetail {
    const d = this.p.repo.imageDetail(id)
    if (!d) throw notFoundError('library.imageNotFound', { id })
    return d
  }

  stats(): LibraryStats {
    return this.p.repo.stats()
  }

  setLabel(imageIds: number[], classId: number | null): LabelChangeResult {
    const { db, repo } = this.p
    const ids = [...new Set(imageIds)]
    const op = transaction(db, () => {
      if (classId !== null && !repo.classExists(classId))
        throw notFoundError('library.classNotFound', { id: classId })
      const current = repo.labelsOf(ids)
      const missing = ids.filter((id) => !current.has(id))
      if (missing.length) {
        throw notFoundError('library.imagesNotFound', {
          ids: `${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', ...' : ''}`
        })
      }
      const change: LabelOp = { ids: [], before: [], after: classId }
      for (const id of ids) {
        const before = current.get(id) as number | null
        if (before === classId) continue
        repo.setLabel(id, classId)
        change.ids.push(id)
        change.before.push(before)
      }
      return change
    })
    // Only a committed change enters the history.
    if (op.ids.length) {
      this.pushUndo(op)
      this.events.onChanged('labels')
    }
    return this.labelResult(op.ids.length)
  }

  /**
   * Undo the last label change on the images whose label is still the one it set: another window or process
   * may have relabelled some since, and that newer label stays (counted in `skipped`). Redo then repeats only
   * what this undo did.
   */
  undo(): LabelChangeResult {
    const op = this.undoStack.pop()
    if (!op) return this.labelResult(0)
    const done = this.replay(
      op,
      op.ids.map(() => op.after),
      op.before
    )
    if (done.ids.length) this.redoStack.push(done)
    return this.replayResult(done, op)
  }

  /** Redo the last undone change, on the images whose label is still the one the undo put back. */
  redo(): LabelChangeResult {
    const op = this.redoStack.pop()
    if (!op) return this.labelResult(0)
    const done = this.replay(
      op,
      op.before,
      op.ids.map(() => op.after)
    )
    if (done.ids.length) this.undoStack.push(done)
    return this.replayResult(done, op)
  }

  /**
   * Move each image of `op` from label `from[i]` to `to[i]` where it still has `from[i]`, compared and written
   * in one immediate transaction so no other process's label lands in between. A class another process
   * deleted since is not brought back: those images are skipped too. Returns the part of `op` applied.
   */
  private replay(op: LabelOp, from: (number | null)[], to: (number | null)[]): LabelOp {
    const { db, repo } = this.p
    const applied = transaction(db, () => {
      const exists = new Map<number, boolean>()
      const alive = (c: number | null): boolean => {
        if (c === null) return true
        if (!exists.has(c)) exists.set(c, repo.classExists(c))
        return exists.get(c) as boolean
      }
      return op.ids.flatMap((id, i) => (alive(to[i]) && repo.setLabelIf(id, to[i], from[i]) ? [i] : []))
    })
    return { ids: applied.map((i) => op.ids[i]), before: applied.map((i) => op.before[i]), after: op.after }
  }

  private replayResult(done: LabelOp, op: LabelOp): LabelChangeResult {
    if (done.ids.length) this.events.onChanged('labels')
    const skipped = op.ids.length - done.ids.length
    return { ...this.labelResult(done.ids.length), ...(skipped ? { skipped } : {}) }
  }

  /** Whether undo/redo are possible now (the renderer asks after a reload). */
  undoState(): { canUndo: boolean; canRedo: boolean } {
    return { canUndo: this.undoStack.length > 0, canRedo: this.redoStack.length > 0 }
  }

  private pushUndo(op: LabelOp): void {
    this.undoStack.push(op)
    if (this.undoStack.length > MAX_UNDO) this.undoStack.shift()
    this.redoStack = []
  }

  private labelResult(changed: number): LabelChangeResult {
    return { changed, canUndo: this.undoStack.length > 0, canRedo: this.redoStack.length > 0 }
  }

  /**
   * Merge and delete make class ids disappear, so recorded label ops could point at a class that no longer
   * exists: the history is cleared rather than replayed wrongly.
   */
  private clearHistory(): void {
    this.undoStack = []
    this.redoStack = []
  }

  listClasses(): ClassInfo[] {
    return this.p.repo.listClasses()
  }

  addClass(name: string, key?: string): ClassInfo {
    const { db, repo } = this.p
    const k = key ?? name
    const id = transaction(db, () => {
      if (repo.classByKey(k)) throw messageError('library.keyTaken', { key: k })
      return repo.insertClass(k, name)
    })
    this.events.onChanged('classes')
    return repo.classById(id) as ClassInfo
  }

  renameClass(id: number, name: string): ClassInfo {
    const { db, repo } = this.p
    transaction(db, () => {
      if (!repo.classExists(id)) throw notFoundError('library.classNotFound', { id })
      repo.renameClass(id, name)
    })
    this.events.onChanged('classes')
    return repo.classById(id) as ClassInfo
  }

  mergeClasses(sourceId: number, targetId: number): ClassInfo {
    const { db, repo } = this.p
    if (sourceId === targetId) throw messageError('library.mergeSelf')
    transaction(db, () => {
      if (!repo.classById(sourceId)) throw notFoundError('library.classNotFound', { id: sourceId })
      if (!repo.classById(targetId)) throw notFoundError('library.classNotFound', { id: targetId })
      repo.reassignClass(sourceId, targetId)
      repo.deleteClass(sourceId)
      repo.compactPositions()
    })
    this.clearHistory()
    this.events.onChanged('classes')
    return repo.classById(targetId) as ClassInfo
  }

  deleteClass(id: number, reassignTo: number | null): { reassigned: number } {
    const { db, repo } = this.p
    if (id === reassignTo) throw messageError('library.reassignSelf')
    const reassigned = transaction(db, () => {
      const cls = repo.classById(id)
      if (!cls) throw notFoundError('library.classNotFound', { id })
      if (reassignTo !== null && !repo.classById(reassignTo))
        throw notFoundError('library.classNotFound', { id: reassignTo })
      const n = repo.reassignClass(id, reassignTo)
      repo.deleteClass(id)
      repo.compactPositions()
      return n
    })
    this.clearHistory()
    this.events.onChanged('classes')
    return { reassigned }
  }

  split(req: SplitRequest): SplitSummary {
    const { db, repo } = this.p
    const summary = transaction(db, () => {
      const items = repo.labelledForSplit().map((r) => ({
        id: r.id,
        classId: r.classId,
        group: req.groupBy === 'track' ? trackOf(r.path, r.groupKey) : null
      }))
      const splits = assignSplits(items, { val: req.val, test: req.test }, req.seed)
      // Unlabelled images get no split: clear everything, then set the labelled ones.
      repo.clearSplits()
      const perClass = new Map<number, Record<Split, number>>()
      for (const item of items) {
        const s = splits.get(item.id) as Split
        repo.setSplit(item.id, s)
        const c = perClass.get(item.classId) ?? { train: 0, val: 0, test: 0 }
        c[s]++
        perClass.set(item.classId, c)
      }
      const out: SplitSummary = { train: 0, val: 0, test: 0, perClass: [] }
      for (const [classId, c] of [...perClass].sort((a, b) => a[0] - b[0])) {
        out.train += c.train
        out.val += c.val
        out.test += c.test
        out.perClass.push({ classId, ...c })
      }
      return out
    })
    this.events.onChanged('splits')
    return summary
  }

  /** Images for the ML engine (labelled only unless asked), with path, class, split, ROI and hash. */
  listImages(opts: { split?: Split | 'none'; includeUnlabelled?: boolean } = {}): TrainingImage[] {
    return this.p.repo.trainingImages(opts)
  }

  /** RGB pixels of one library image, cropped to its ROI when the import asked for it. */
  async readPixels(image: TrainingImage): Promise<RgbImage> {
    return decodeImage(image.path, { crop: image.cropToRoi ? image.roi : null })
  }
}
