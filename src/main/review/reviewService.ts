// ReviewService: the data review of the open project (issue 16). It gathers the library's images, runs the
// heavy part as a `review` job on the training runner (the forked training worker in the app and under
// `serve`, in process for the CLI and tests), so cross-validation and the neighbour search never block the
// backend's event loop, and turns the job's numbers into the report: confident-learning label issues with
// the users' earlier decisions applied, near-duplicate pairs with their splits, outliers, and the health
// check. It owns the review's lifecycle (one at a time, progress, cancel, the outcome event) and the queue's
// decisions; accepting a suggestion relabels through the library's undoable setLabel. No Electron here.
// The last report of a project also goes to a file beside it (`<project>.review/last.json`, written
// asynchronously and atomically), so it is there again after a restart; it is read back once, bounded and
// checked, and images removed from the library since are left out of it whenever it is read.
import { mkdtempSync, rmSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BaseModel } from '../../shared/training'
import type {
  LabelIssue,
  NearDuplicate,
  Outlier,
  ReviewDecision,
  ReviewImage,
  ReviewProgressEvent,
  ReviewReport
} from '../../shared/review'
import { createEmitter } from '../../shared/emitter'
import {
  inspectOnnxModel,
  type BaseInfo,
  type ClassLabel,
  type Example,
  type JobResult,
  type ReviewJob,
  type ReviewJobResult,
  type WorkerEntry
} from '../ml'
import type { JobRunner } from '../training/trainingService'
import type { ProjectService } from '../project/projectService'
import type { LibraryService } from '../library/libraryService'
import type { TrainingImage } from '../db/libraryRepo'
import type { Db } from '../db/database'
import { featureCacheRoot, lastReviewFile, reviewDir } from '../project/paths'
import { writeFileAtomic } from '../project/atomicFile'
import { readJsonBounded, SafeFileError } from '../fs/safeFile'
import { baseInfoOf, baseOfEntry, type ModelHub } from '../hub'
import { codeOf, messageError, notFoundError, validationError } from '../errors'
import { findLabelIssues } from './confidentLearning'
import { libraryHealth } from './health'
import { createDecisionsRepo, type DecisionsRepo } from './decisionsRepo'

export interface ReviewOptions {
  base?: BaseModel
  folds: number
  epochs?: number
  duplicateThreshold: number
  seed: number
  /** Only duplicates, outliers and health (no fold models): the bench's leak check. */
  skipLabelIssues?: boolean
}

export interface ReviewServiceOptions {
  runner: JobRunner
  /** The gradient worker the fold models train with on wasm (as training does). */
  gradWorker?: WorkerEntry
  /** Resolves `{ kind: 'hub' }` bases to their cached file. */
  models?: Pick<ModelHub, 'resolve'>
  /** Near-duplicate pairs kept in a report (all of them are counted in `crossSplitPairs`). */
  maxPairs?: number
  /** Outliers kept in a report (those scoring above `outlierScore`, farthest first). */
  maxOutliers?: number
  outlierScore?: number
  /** Where warnings go (a review file that could not be written or read back); default console.warn. */
  warn?: (message: string) => void
}

/** The review file's format; a file of another version is not read (it means "no report"). */
export const REVIEW_FILE_VERSION = 1

/** A 50,000-image report is a few MB; a file above this is refused unread. */
export const MAX_REVIEW_FILE_BYTES = 64 << 20

/** What `last.json` holds. */
interface ReviewFile {
  version: typeof REVIEW_FILE_VERSION
  report: ReviewReport
}

/** Progress events of one stage go out at most this often (the stage's first and last always do). */
const PROGRESS_MS = 200

export class ReviewService {
  private readonly events = createEmitter<{ progress: ReviewProgressEvent }>()
  private running: { reviewId: number; controller: AbortController } | null = null
  /** Settles when the running review has ended (for dispose). */
  private ended: Promise<unknown> = Promise.resolve()
  private nextId = 1
  /** The last report per project database, as it came out (decisions are applied when it is read). */
  private readonly reports = new WeakMap<Db, ReviewReport>()
  /** The one read of each project's review file (settles with null when there is none to use). */
  private readonly restoring = new WeakMap<Db, Promise<ReviewReport | null>>()
  private readonly decisionRepos = new WeakMap<Db, DecisionsRepo>()

  constructor(
    private readonly projects: ProjectService,
    private readonly library: LibraryService,
    private readonly opts: ReviewServiceOptions
  ) {}

  /** Subscribe to progress; returns the unsubscribe function. */
  onProgress(listener: (e: ReviewProgressEvent) => void): () => void {
    return this.events.on('progress', listener)
  }

  private decisions(): DecisionsRepo {
    const { db } = this.projects.require()
    let repo = this.decisionRepos.get(db)
    if (!repo) {
      repo = createDecisionsRepo(db)
      this.decisionRepos.set(db, repo)
    }
    return repo
  }

  /** Stop the running review; false when none runs. */
  cancel(): boolean {
    if (!this.running) return false
    this.running.controller.abort()
    return true
  }

  /**
   * The last review of the open project, with the decisions made since applied and the images removed from
   * the library since left out: this session's, else the one its review file holds (read once, `restored`).
   */
  async result(): Promise<ReviewReport | null> {
    const open = this.projects.require()
    let report = this.reports.get(open.db)
    if (!report) {
      let pending = this.restoring.get(open.db)
      if (!pending) {
        pending = this.restore(open.info.path)
        this.restoring.set(open.db, pending)
      }
      const restored = await pending
      // A review that finished while the file was read is newer; a project switched meanwhile is not ours.
      if (this.projects.current() !== open.info) return null
      report = this.reports.get(open.db)
      if (!report && restored) {
        this.reports.set(open.db, restored)
        report = restored
      }
    }
    return report ? this.applyDecisions(this.withoutRemoved(report)) : null
  }

  /** The report in a project's review file, or null when it is missing or cannot be used (never throws). */
  private async restore(projectPath: string): Promise<ReviewReport | null> {
    const file = lastReviewFile(projectPath)
    let data: unknown
    try {
      data = await readJsonBounded(file, MAX_REVIEW_FILE_BYTES, 'review file')
    } catch (err) {
      if (!(err instanceof SafeFileError && err.code === 'not-found'))
        this.warn(`the last review could not be read back, so none is shown: ${(err as Error).message}`)
      return null
    }
    const report = reviewFileReport(data)
    if (typeof report === 'string') {
      this.warn(`the last review in ${file} is not used: ${report}`)
      return null
    }
    // A new review of this session must not reuse the restored one's id.
    this.nextId = Math.max(this.nextId, report.reviewId + 1)
    return { ...report, restored: true }
  }

  /** Writes a finished review's report beside the project; a failure (a read-only disk) only warns. */
  private async save(projectPath: string, report: ReviewReport): Promise<void> {
    const file = lastReviewFile(projectPath)
    try {
      await mkdir(reviewDir(projectPath), { recursive: true })
      const content: ReviewFile = { version: REVIEW_FILE_VERSION, report }
      await writeFileAtomic(file, JSON.stringify(content))
    } catch (err) {
      this.warn(`the review could not be saved to ${file}: ${(err as Error).message}`)
    }
  }

  private warn(message: string): void {
    const warn = this.opts.warn ?? console.warn
    warn(message)
  }

  /**
   * The report less the images that are no longer in the library. Pairs are dropped with either image, and
   * the leak count with them (`crossSplitPairs` also counts pairs beyond those kept, which stay counted).
   * The health check stays as it was when the review ran.
   */
  private withoutRemoved(report: ReviewReport): ReviewReport {
    const ids = new Set<number>()
    for (const i of report.labelIssues) ids.add(i.imageId)
    for (const p of report.nearDuplicates) ids.add(p.a.imageId).add(p.b.imageId)
    for (const o of report.outliers) ids.add(o.imageId)
    for (const p of report.map ?? []) ids.add(p.imageId)
    const missing = this.projects.require().repo.missingImageIds([...ids])
    if (missing.size === 0) return report
    const kept = (i: { imageId: number }): boolean => !missing.has(i.imageId)
    const nearDuplicates = report.nearDuplicates.filter((p) => kept(p.a) && kept(p.b))
    const leaksDropped =
      report.nearDuplicates.filter((p) => p.crossSplit).length -
      nearDuplicates.filter((p) => p.crossSplit).length
    return {
      ...report,
      labelIssues: report.labelIssues.filter(kept),
      nearDuplicates,
      crossSplitPairs: report.crossSplitPairs - leaksDropped,
      outliers: report.outliers.filter(kept),
      map: report.map?.filter(kept)
    }
  }

  /** Accept a suggestion (relabel, undoable) or keep the label; both are remembered. */
  decide(
    imageId: number,
    decision: ReviewDecision,
    classId: number | null
  ): { imageId: number; decision: ReviewDecision; classId: number | null } {
    const { repo } = this.projects.require()
    const image = repo.imageSource(imageId)
    if (!image) throw notFoundError('review.imageNotFound', { id: imageId })
    if (decision === 'accept') {
      if (classId === null) throw validationError('review.classRequired')
      if (!repo.classExists(classId)) throw notFoundError('review.classNotFound', { id: classId })
      this.library.setLabel([imageId], classId)
      this.decisions().record(imageId, 'accept', classId)
      return { imageId, decision, classId }
    }
    // Keeping an unlabelled image's "label" means nothing to suggest against; it is still remembered.
    const current = image.classId
    if (current !== null) this.decisions().record(imageId, 'keep', current)
    return { imageId, decision, classId: current }
  }

  private applyDecisions(report: ReviewReport): ReviewReport {
    const decided = this.decisions().decided()
    // An accepted suggestion is remembered with the new class: hidden while the image still has it (an undo
    // of the accept brings the issue back).
    const labels = this.projects.require().repo.labelsOf(report.labelIssues.map((i) => i.imageId))
    const labelIssues = report.labelIssues.filter((issue) => {
      const d = decided.get(issue.imageId)
      return !(d && (d.classId === issue.classId || d.classId === labels.get(issue.imageId)))
    })
    return { ...report, labelIssues }
  }

  private async resolveBase(
    base: BaseModel | undefined
  ): Promise<{ base?: BaseModel; info?: BaseInfo; name: string | null }> {
    if (!base || base.kind === 'none') return { name: null }
    if (base.kind === 'hub') {
      if (!this.opts.models) throw validationError('training.noHub', { id: base.id })
      const { entry, path } = await this.opts.models.resolve(base.id)
      return { base: baseOfEntry(entry, path), info: baseInfoOf(entry), name: base.id }
    }
    // An ONNX file says its own input size; the defaults would assume 224 px.
    if (base.kind === 'onnx')
      return {
        base,
        info: { format: 'onnx', inputSize: (await inspectOnnxModel(base.path)).input.size },
        name: base.path
      }
    if (base.kind === 'bvlc-npy' || base.kind === 'torchvision-pth') return { base, name: base.path }
    throw validationError('review.baseKind')
  }

  /** Run a review of the open project; resolves with its report. */
  start(options: ReviewOptions): Promise<ReviewReport> {
    if (this.running) return Promise.reject(messageError('review.busy'))
    const run = this.run(options)
    this.ended = run.catch(() => undefined)
    return run
  }

  private async run(options: ReviewOptions): Promise<ReviewReport> {
    if (this.running) throw messageError('review.busy')
    const open = this.projects.require()
    const reviewId = this.nextId++
    const controller = new AbortController()
    this.running = { reviewId, controller }
    const emit = (e: Omit<ReviewProgressEvent, 'reviewId'>): void => {
      try {
        this.events.emit('progress', { reviewId, ...e })
      } catch {
        // A listener's bug must not stop the review.
      }
    }
    const started = Date.now()
    const workDir = mkdtempSync(join(tmpdir(), 'ts-review-'))
    try {
      const repo = open.repo
      const images = repo.trainingImages({ includeUnlabelled: true })
      const classList = repo.listClasses()
      const present = new Set(images.map((i) => i.classId))
      const classes: ClassLabel[] = classList
        .filter((c) => present.has(c.id))
        .map((c, index) => ({ index, classId: c.id, key: c.key, name: c.name }))
      if (classes.length < 2) throw validationError('review.tooFewClasses', { count: classes.length })
      const labelledCount = images.filter((i) => i.classId !== null).length
      if (labelledCount < options.folds)
        throw validationError('review.tooFewImages', { folds: options.folds, count: labelledCount })
      const indexOf = new Map(classes.map((c) => [c.classId, c.index]))
      const examples: Example[] = images.map((i: TrainingImage) => ({
        imageId: i.id,
        path: i.path,
        hash: i.hash,
        label: i.classId === null ? -1 : (indexOf.get(i.classId) as number),
        roi: i.cropToRoi ? i.roi : null
      }))
      const resolved = await this.resolveBase(options.base)
      const job: ReviewJob = {
        kind: 'review',
        examples,
        classes,
        folds: options.folds,
        epochs: options.epochs,
        seed: options.seed,
        base: resolved.base,
        info: resolved.info,
        cropToRoi: images.some((i) => i.cropToRoi),
        workDir,
        featureCacheDir: featureCacheRoot(open.info.path),
        duplicateThreshold: options.duplicateThreshold,
        skipLabelIssues: options.skipLabelIssues,
        gradWorker: this.opts.gradWorker
      }
      let lastStage = ''
      let lastAt = 0
      const onEvent = (e: Parameters<Parameters<JobRunner>[1]>[0]): void => {
        if (e.type !== 'phase') return
        const stage = (
          {
            loading: 'embedding',
            features: 'features',
            training: 'training',
            evaluating: 'predicting',
            saving: 'duplicates',
            map: 'map'
          } as const
        )[e.phase]
        const now = Date.now()
        if (stage === lastStage && e.done < e.total && now - lastAt < PROGRESS_MS) return
        lastStage = stage
        lastAt = now
        const fold = e.runId > 0 ? { fold: e.runId, folds: options.folds } : {}
        emit({ state: 'running', stage, done: e.done, total: e.total, ...fold })
      }
      let result: JobResult
      try {
        result = await this.opts.runner(job, onEvent, controller.signal)
      } catch (err) {
        if (controller.signal.aborted) throw messageError('review.cancelled')
        throw err
      }
      if (result.kind !== 'review') throw new Error(`the review job answered a ${result.kind} result`)
      const report = this.buildReport(reviewId, result, images, classes, resolved.name, options, started)
      this.reports.set(open.db, report)
      await this.save(open.info.path, report)
      emit({ state: 'done', stage: 'finished', done: 1, total: 1 })
      return this.applyDecisions(report)
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err))
      const coded = codeOf(e)
      if (coded?.code === 'review.cancelled')
        emit({ state: 'cancelled', stage: 'finished', done: 0, total: 0 })
      else
        emit({
          state: 'failed',
          stage: 'finished',
          done: 0,
          total: 0,
          error: e.message,
          ...(coded ? { errorCode: coded.code, errorParams: coded.params } : {})
        })
      throw err
    } finally {
      rmSync(workDir, { recursive: true, force: true })
      this.running = null
    }
  }

  private buildReport(
    reviewId: number,
    r: ReviewJobResult,
    images: TrainingImage[],
    classes: ClassLabel[],
    baseName: string | null,
    options: ReviewOptions,
    started: number
  ): ReviewReport {
    const C = classes.length
    const img = (i: number): ReviewImage => ({
      imageId: images[i].id,
      path: images[i].path,
      split: images[i].split
    })
    const probs = Float32Array.from(r.probabilities)
    const labels = Int32Array.from(r.rows, (row) =>
      classes.findIndex((c) => c.classId === images[row].classId)
    )
    const accuracy = (p: ArrayLike<number>): number => {
      let correct = 0
      for (let k = 0; k < r.rows.length; k++) {
        let best = 0
        for (let c = 1; c < C; c++) if (p[k * C + c] > p[k * C + best]) best = c
        if (best === labels[k]) correct++
      }
      return r.rows.length ? correct / r.rows.length : 0
    }
    const labelIssues: LabelIssue[] = findLabelIssues(probs, labels, C).map((issue) => {
      const row = r.rows[issue.index]
      return {
        ...img(row),
        classId: classes[issue.label].classId,
        label: classes[issue.label].name,
        suggestedClassId: classes[issue.suggested].classId,
        suggested: classes[issue.suggested].name,
        score: issue.score,
        labelProbability: issue.labelProbability,
        suggestedProbability: issue.suggestedProbability
      }
    })
    const allPairs: NearDuplicate[] = r.pairs.map(([a, b, similarity]) => {
      const A = img(a)
      const B = img(b)
      return { a: A, b: B, similarity, crossSplit: A.split !== B.split }
    })
    const maxOutliers = this.opts.maxOutliers ?? 100
    const minScore = this.opts.outlierScore ?? 1.5
    const outliers: Outlier[] = r.outlierScores
      .flatMap((score, i) =>
        score !== null && score >= minScore ? [{ ...img(i), classId: images[i].classId, score }] : []
      )
      .sort((a, b) => b.score - a.score)
      .slice(0, maxOutliers)
    const classList = this.projects.require().repo.listClasses()
    return {
      reviewId,
      createdAt: new Date().toISOString(),
      seconds: (Date.now() - started) / 1000,
      method: {
        engine: r.engine,
        base: baseName,
        folds: r.folds,
        epochs: r.epochs,
        cvAccuracy: accuracy(probs),
        modelAccuracy: accuracy(r.modelProbabilities),
        neighbourWeight: r.neighbourWeight,
        embedding: r.embedding,
        embeddingDim: r.embeddingDim,
        search: r.search,
        duplicateThreshold: options.duplicateThreshold
      },
      labelIssues,
      nearDuplicates: allPairs.slice(0, this.opts.maxPairs ?? 5000),
      crossSplitPairs: allPairs.filter((p) => p.crossSplit).length,
      outliers,
      health: libraryHealth(images, classList),
      failed: r.failed,
      map: r.projection?.flatMap((p, i) =>
        p
          ? [{ imageId: images[i].id, path: images[i].path, classId: images[i].classId, x: p[0], y: p[1] }]
          : []
      ),
      mapMethod: r.mapMethod,
      mapFallback: r.mapFallback ?? null,
      mapFitted: r.mapFitted
    }
  }

  /** Cancel a running review and wait for it to end. */
  async dispose(): Promise<void> {
    this.running?.controller.abort()
    await this.ended
    this.events.clear()
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)
const hasId = (v: unknown): boolean => isObject(v) && typeof v.imageId === 'number'
/** Label issues and outliers are drawn with their score. */
const hasIdAndScore = (v: unknown): boolean => hasId(v) && typeof (v as { score: unknown }).score === 'number'

/**
 * The report in a parsed review file, or why it cannot be used. Checks only what reading it relies on: the
 * version, the lists being lists of images with ids, and the parts the screen reads without a guard.
 */
export function reviewFileReport(data: unknown): ReviewReport | string {
  if (!isObject(data)) return 'it is not a JSON object'
  if (data.version !== REVIEW_FILE_VERSION)
    return `it is of version ${JSON.stringify(data.version)}, not ${REVIEW_FILE_VERSION}`
  const r = data.report
  if (!isObject(r)) return 'it holds no report'
  if (typeof r.reviewId !== 'number' || typeof r.createdAt !== 'string' || typeof r.seconds !== 'number')
    return 'its report has no id, time or duration'
  if (!isObject(r.method) || !isObject(r.health)) return 'its report has no method or health'
  const h = r.health
  if (
    !Array.isArray(h.perClass) ||
    !Array.isArray(h.smallClasses) ||
    !(h.imbalanceRatio === null || typeof h.imbalanceRatio === 'number') ||
    !isObject(h.sizes) ||
    !isObject(h.sizes.width) ||
    !isObject(h.sizes.height)
  )
    return 'its health check is incomplete'
  if (typeof r.crossSplitPairs !== 'number') return 'its report has no leak count'
  for (const key of ['labelIssues', 'outliers', 'map'] as const) {
    const list = r[key]
    if (list === undefined && key === 'map') continue
    if (!Array.isArray(list) || !list.every(key === 'map' ? hasId : hasIdAndScore))
      return `its ${key} is not a list of images`
  }
  if (
    !Array.isArray(r.nearDuplicates) ||
    !r.nearDuplicates.every(
      (p) => isObject(p) && hasId(p.a) && hasId(p.b) && typeof p.similarity === 'number'
    )
  )
    return 'its nearDuplicates is not a list of pairs'
  if (!Array.isArray(r.failed)) return 'its failed is not a list'
  return r as unknown as ReviewReport
}
