// TrainingService: training runs of the open project. It stores each run in SQLite (settings, status,
// per-epoch curves, final metrics, evaluation and per-image predictions), runs the engine through an
// injectable JobRunner — a forked child process in the app (the built out/main/trainWorker.js), or in
// process for the CLI and tests — and streams TrainingEvents to listeners. No Electron here.
import { fork } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { medianSide, sizeToData } from '../../shared/estimate'
import {
  type BaseModel,
  type EvaluationResult,
  type ModelMetadata,
  type RunSummary,
  type Strategy,
  type TrainConfig,
  type TrainingEvent,
  type TrainingHistory,
  type TrainingProgress
} from '../../shared/training'
import { createEmitter } from '../../shared/emitter'
import { toUserError } from '../errors/userError'
import {
  copyExportFolder,
  defaultTrainConfig,
  type BaseInfo,
  type ExportResult,
  loadEngine,
  type ChildMessage,
  type ClassLabel,
  type EvaluateJobResult,
  type Example,
  type Job,
  type JobResult,
  type ParentMessage,
  type TrainJobResult,
  type WorkerEntry
} from '../ml'
import { featureCacheRoot, RUN_FILES, runDir as runDirOf } from '../project/paths'
import type { ProjectService } from '../project/projectService'
import type { TrainingImage } from '../db/libraryRepo'
import {
  HEARTBEAT_MS,
  RunOwnedError,
  createRunsRepo,
  ownerAlive,
  thisProcess,
  type RunRecord,
  type RunsRepo
} from '../db/runsRepo'
import type { Db } from '../db/database'
import { messageError, notFoundError, validationError } from '../errors'
import { baseOfEntry, type ModelHub } from '../hub'
import { RunLog } from './runLog'

/** Runs whose streamed history is kept (the running one and the last few that ended). */
const LOGGED_RUNS = 4

/**
 * Runs one engine job; `signal` cancels it (a train job then resolves with status 'cancelled'). It reports
 * progress only; the result (or the rejection) is the job's end, which the service saves and announces.
 */
export type JobRunner = (
  job: Job,
  onEvent: (e: TrainingProgress) => void,
  signal: AbortSignal
) => Promise<JobResult>

/** Runs jobs in this process (TF.js is loaded on first use). */
export function inProcessRunner(): JobRunner {
  return async (job, onEvent, signal) => {
    const { runJob } = await loadEngine()
    return runJob(job, onEvent, signal)
  }
}

export interface ForkRunnerOptions {
  /** The worker entry: out/main/trainWorker.js, or the .ts source with a loader in execArgv (tests). */
  entry: string
  execArgv?: string[]
  env?: NodeJS.ProcessEnv
  /** After a cancel, how long the child gets to stop before it is killed (ms). */
  killAfterMs?: number
}

/** Runs each job in a fresh child process, so training never blocks the caller's event loop. */
export function forkRunner(opts: ForkRunnerOptions): JobRunner {
  return (job, onEvent, signal) =>
    new Promise<JobResult>((resolve, reject) => {
      const child = fork(opts.entry, [], {
        execArgv: opts.execArgv ?? [],
        env: opts.env ?? process.env,
        stdio: ['ignore', 'inherit', 'inherit', 'ipc']
      })
      let settled = false
      let killTimer: NodeJS.Timeout | null = null
      const finish = (fn: () => void): void => {
        if (settled) return
        settled = true
        signal.removeEventListener('abort', onAbort)
        if (killTimer) clearTimeout(killTimer)
        fn()
        if (child.connected) child.disconnect()
      }
      const onAbort = (): void => {
        if (child.connected) child.send({ type: 'cancel' } satisfies ParentMessage)
        killTimer = setTimeout(() => child.kill(), opts.killAfterMs ?? 30_000)
      }
      signal.addEventListener('abort', onAbort)
      child.on('message', (msg: ChildMessage) => {
        if (msg.type === 'ready') {
          child.send({ type: 'run', job } satisfies ParentMessage)
          if (signal.aborted) onAbort()
        } else if (msg.type === 'event') onEvent(msg.event)
        else if (msg.type === 'done') finish(() => resolve(msg.result))
        else if (msg.type === 'error')
          finish(() => reject(Object.assign(new Error(msg.error.message), msg.error)))
      })
      child.on('error', (err) => finish(() => reject(err)))
      child.on('exit', (code, sig) =>
        finish(() => reject(messageError('training.processStopped', { reason: sig ?? `exit code ${code}` })))
      )
    })
}

/**
 * The app's runner: the training worker the composition root names (`join(__dirname, 'trainWorker.js')` in
 * out/main), forked per job; in process without one. Nothing is looked for on disk.
 */
export function defaultRunner(entry?: string): JobRunner {
  return entry ? forkRunner({ entry }) : inProcessRunner()
}

export interface TrainingServiceOptions {
  runner?: JobRunner
  /** The gradient worker each train job uses on wasm (`join(__dirname, 'gradWorker.js')` in out/main). */
  gradWorker?: WorkerEntry
  /** Resolves a `{ kind: 'hub' }` base to its cached file (the model hub); without it hub bases are refused. */
  models?: Pick<ModelHub, 'resolve'>
  /**
   * Write the run's heartbeat from a worker thread (its own connection) rather than a timer on this thread.
   * For a runner that trains on this thread (the CLI's in-process runner): one synchronous full-AlexNet batch
   * takes seconds on wasm and would starve the timer until other processes take the run for dead.
   */
  heartbeatThread?: boolean
}

/** The heartbeat worker: beats every `intervalMs` until told to stop or the run is no longer its owner's. */
const HEARTBEAT_WORKER = `
const { workerData: w, parentPort } = require('node:worker_threads')
const Database = require(w.sqlite)
const db = new Database(w.file, { fileMustExist: true })
db.pragma('busy_timeout = 1000')
const beat = db.prepare('UPDATE runs SET heartbeat_at = ? WHERE id = ? AND owner_pid = ? AND owner_host = ?')
function stop() {
  clearInterval(timer)
  try { db.close() } catch {}
  parentPort.close()
}
const timer = setInterval(() => {
  try {
    if (beat.run(Date.now(), w.runId, w.pid, w.host).changes === 0) stop()
  } catch {
    // A busy database: the next beat tries again (five may be missed before the run reads as stale).
  }
}, w.intervalMs)
parentPort.on('message', stop)
`

/**
 * Starts the heartbeat of a run this process owns; returns its disposer. On a timer of this thread, unref'd
 * so it never keeps the process up; or (`thread`) from a worker thread, falling back to the timer when the
 * worker cannot start or the project is not a file.
 */
function startHeartbeat(
  repo: RunsRepo,
  db: Db,
  runId: number,
  owner: { pid: number; host: string },
  thread: boolean
): () => void {
  let timer: NodeJS.Timeout | null = null
  const onThisThread = (): void => {
    timer = setInterval(() => {
      try {
        if (!repo.beat(runId, owner)) stop()
      } catch {
        stop() // the project was closed under the job
      }
    }, HEARTBEAT_MS)
    timer.unref()
  }
  let worker: Worker | null = null
  let stopped = false
  const stop = (): void => {
    stopped = true
    if (timer) clearInterval(timer)
    timer = null
    worker?.postMessage('stop')
    worker = null
  }
  if (thread && !db.memory) {
    try {
      const w = new Worker(HEARTBEAT_WORKER, {
        eval: true,
        workerData: {
          sqlite: require.resolve('better-sqlite3'),
          file: db.name,
          runId,
          pid: owner.pid,
          host: owner.host,
          intervalMs: HEARTBEAT_MS
        }
      })
      w.unref()
      w.on('error', (err) => {
        if (stopped || worker !== w) return
        console.error('the heartbeat worker failed; beating on the main thread:', err)
        worker = null
        onThisThread()
      })
      worker = w
    } catch (err) {
      console.error('could not start the heartbeat worker; beating on the main thread:', err)
      onThisThread()
    }
  } else onThisThread()
  return stop
}

interface Active {
  runId: number
  controller: AbortController
  done: Promise<RunRecord>
}

/** An engine example for a library image, labelled with the output index of its class. */
function toExample(i: TrainingImage, indexOf: Map<number, number>): Example {
  return {
    imageId: i.id,
    path: i.path,
    hash: i.hash,
    label: indexOf.get(i.classId as number) as number,
    roi: i.cropToRoi ? i.roi : null
  }
}

export class TrainingService {
  private readonly runner: JobRunner
  private readonly gradWorker: WorkerEntry | undefined
  private readonly models: Pick<ModelHub, 'resolve'> | undefined
  private readonly events = createEmitter<{
    event: TrainingEvent
    libraryChanged: 'predictions'
  }>()
  private readonly heartbeatThread: boolean
  private readonly repos = new WeakMap<Db, RunsRepo>()
  private active: Active | null = null
  /** The last `seq` stamped on an event (of any run). */
  private seq = 0
  /** What recent runs streamed, by run id, oldest first (at most LOGGED_RUNS). */
  private readonly logs = new Map<number, RunLog>()

  constructor(
    private readonly projects: ProjectService,
    opts: TrainingServiceOptions = {}
  ) {
    this.runner = opts.runner ?? defaultRunner()
    this.gradWorker = opts.gradWorker
    this.models = opts.models
    this.heartbeatThread = opts.heartbeatThread ?? false
  }

  /** Every TrainingEvent of every run; returns the unsubscribe function. */
  onEvent(listener: (e: TrainingEvent) => void): () => void {
    return this.events.on('event', listener)
  }

  /** What this service changed in the library's views (an evaluation stores per-image predictions). */
  onLibraryChanged(listener: (reason: 'predictions') => void): () => void {
    return this.events.on('libraryChanged', listener)
  }

  /** Stamps the event's `seq`, keeps it in its run's log, and sends it to the listeners. */
  private announce(e: TrainingEvent): void {
    const stamped: TrainingEvent = { ...e, seq: ++this.seq }
    this.logs.get(e.runId)?.add(stamped)
    this.events.emit('event', stamped)
  }

  /** A run's log, kept from now on (a resumed run continues the one it had). */
  private logFor(runId: number): RunLog {
    const log = this.logs.get(runId) ?? new RunLog()
    this.logs.delete(runId)
    this.logs.set(runId, log)
    for (const id of this.logs.keys()) {
      if (this.logs.size <= LOGGED_RUNS) break
      this.logs.delete(id)
    }
    return log
  }

  /**
   * What a run streamed so far: taken and answered in one turn of the event loop, so every event with a
   * `seq` up to the answer's is in it and every later one reaches listeners after it.
   */
  history(runId: number): TrainingHistory {
    this.get(runId)
    return { runId, seq: this.seq, events: this.logs.get(runId)?.events() ?? [] }
  }

  /** The run in progress, or null. */
  get running(): number | null {
    return this.active?.runId ?? null
  }

  private repo(): { repo: RunsRepo; projectPath: string; db: Db } {
    const open = this.projects.require()
    let repo = this.repos.get(open.db)
    if (!repo) {
      repo = createRunsRepo(open.db)
      // Runs a crash left queued/running can never finish; one another live process trains is kept.
      repo.markInterrupted()
      this.repos.set(open.db, repo)
    }
    return { repo, projectPath: open.info.path, db: open.db }
  }

  /** Classes that have training images, in list order, as output indices; and the examples per split. */
  private dataset(): { classes: ClassLabel[]; split: (s: 'train' | 'val' | 'test') => Example[] } {
    const lib = this.projects.require().repo
    const train = lib.trainingImages({ split: 'train' })
    const present = new Set(train.map((i) => i.classId))
    const classes: ClassLabel[] = lib
      .listClasses()
      .filter((c) => present.has(c.id))
      .map((c, index) => ({ index, classId: c.id, key: c.key, name: c.name }))
    const byId = new Map(classes.map((c) => [c.classId, c.index]))
    return {
      classes,
      split: (s) =>
        (s === 'train' ? train : lib.trainingImages({ split: s }))
          .filter((i) => byId.has(i.classId as number))
          .map((i) => toExample(i, byId))
    }
  }

  /**
   * defaultTrainConfig for this project: crops to the ROI when the import asked for it (GTSRB CSV with
   * cropToRoi), since the engine crops only when both the image and the preprocessing say so.
   */
  defaults(strategy: Strategy, base?: BaseModel, info?: BaseInfo): TrainConfig {
    const config = defaultTrainConfig(strategy, base, info)
    const repo = this.projects.require().repo
    const train = repo.trainingImages({ split: 'train' })
    if (train.some((i) => i.cropToRoi && i.roi)) config.preprocessing.cropToRoi = true
    // AlexNet from random weights is sized to the images and the backend (shared/estimate.ts).
    const images = train.length > 0 ? train : repo.trainingImages()
    const backend = this.list().find((r) => r.backend)?.backend ?? null
    return sizeToData(config, { medianSide: medianSide(images), backend })
  }

  /** Starts a run in the background and returns its id; events follow through `onEvent`. */
  async start(config: TrainConfig): Promise<{ runId: number }> {
    this.assertIdle()
    const jobConfig = await this.resolveBase(config)
    // Checked again: another start may have begun while the base was being resolved.
    this.assertIdle()
    const { repo, projectPath } = this.repo()
    const data = this.dataset()
    if (data.classes.length < 2) {
      throw messageError('training.fewClasses', { count: data.classes.length })
    }
    const trainExamples = data.split('train')
    const val = data.split('val')
    // The run keeps the base as chosen (a run id stays a run id); the job gets the resolved folder.
    const runId = repo.create(
      config,
      new Date().toISOString(),
      { trainImages: trainExamples.length, valImages: val.length },
      thisProcess()
    )
    const runDir = runDirOf(projectPath, runId)
    mkdirSync(runDir, { recursive: true })
    repo.setRunDir(runId, runDir)
    return this.launch(runId, {
      kind: 'train',
      runId,
      config: jobConfig,
      train: trainExamples,
      val,
      classes: data.classes,
      runDir,
      featureCacheDir: featureCacheRoot(projectPath),
      gradWorker: this.gradWorker
    })
  }

  private assertIdle(): void {
    if (this.active) throw messageError('training.busy', { id: this.active.runId })
  }

  /** Continues a cancelled or failed run from its last checkpoint. */
  async resume(runId: number): Promise<{ runId: number }> {
    this.assertIdle()
    const { repo, projectPath } = this.repo()
    const run = repo.get(runId)
    if (!run) throw notFoundError('training.runNotFound', { id: runId })
    if (run.status === 'completed') throw messageError('training.completed', { id: runId })
    // Checked first for a clear message; launch claims the run atomically, which is what guarantees it.
    const owner = repo.owner(runId)
    if (owner && ownerAlive(owner)) throw new RunOwnedError(runId, owner)
    if (!run.runDir || !existsSync(join(run.runDir, RUN_FILES.checkpointJson))) {
      throw messageError('training.noCheckpoint', { id: runId })
    }
    const config = await this.resolveBase(run.config)
    this.assertIdle()
    const data = this.dataset()
    return this.launch(runId, {
      kind: 'train',
      runId,
      config,
      train: data.split('train'),
      val: data.split('val'),
      classes: data.classes,
      runDir: run.runDir,
      featureCacheDir: featureCacheRoot(projectPath),
      gradWorker: this.gradWorker,
      resume: true
    })
  }

  /**
   * The config the engine runs: a `run` base becomes that run's model folder (a `studio-model` base), so
   * the renderer names runs by id and never sends a server path back; a `hub` base becomes the cached
   * file in its format. Bases the strategy uses must exist.
   */
  private async resolveBase(config: TrainConfig): Promise<TrainConfig> {
    const base = config.base
    const usesBase = config.strategy !== 'retrain' && config.strategy !== 'custom'
    if (base.kind === 'hub') {
      if (!usesBase) return { ...config, base: { kind: 'none' } }
      if (!this.models) throw validationError('training.noHub', { id: base.id })
      const { entry, path } = await this.models.resolve(base.id)
      return { ...config, base: baseOfEntry(entry, path) }
    }
    if (base.kind === 'run') {
      if (!usesBase) return { ...config, base: { kind: 'none' } }
      const run = this.repo().repo.get(base.runId)
      if (!run) throw notFoundError('training.baseRunNotFound', { id: base.runId })
      if (run.status !== 'completed')
        throw validationError('training.baseNotCompleted', { id: run.id, status: run.status })
      if (!run.modelDir || !existsSync(join(run.modelDir, 'metadata.json')))
        throw validationError('training.baseNoModel', { id: run.id })
      return { ...config, base: { kind: 'studio-model', path: run.modelDir } }
    }
    if (base.kind !== 'none' && usesBase && !existsSync(base.path))
      throw messageError('training.baseNotFound', { path: base.path })
    return config
  }

  private launch(runId: number, job: Extract<Job, { kind: 'train' }>): { runId: number } {
    const { repo, db } = this.repo()
    const controller = new AbortController()
    // Refused (RunOwnedError) when another live process trains this run.
    const owner = thisProcess()
    repo.claim(runId, owner)
    // Tells other processes opening this project that the run is alive; stopped when the run ends (before
    // its end is saved), or by itself when the row is no longer ours or the project is unreachable.
    const stopHeartbeat = startHeartbeat(repo, db, runId, owner, this.heartbeatThread)
    this.logFor(runId)
    const onProgress = (e: TrainingProgress): void => {
      try {
        if (e.type === 'started') repo.setBackend(runId, e.backend, e.threads ?? 1)
        else if (e.type === 'epoch') repo.addEpoch(runId, e)
      } catch (err) {
        // The project may have been closed under a running job; the event still goes out.
        console.error('could not record training progress:', err)
      }
      this.announce(e)
    }
    // This service alone ends a run: the job returns its result (or rejects), the run is saved, and only
    // then is its end announced, so a listener that reads the run on 'completed' sees the final record.
    const done = this.runner(job, onProgress, controller.signal).then(
      (result): { record: RunRecord; end: TrainingEvent } => {
        stopHeartbeat()
        const r = result as TrainJobResult
        repo.setMetrics(runId, {
          epochsDone: r.epochsDone,
          valAccuracy: r.valAccuracy,
          testAccuracy: null,
          seconds: r.seconds,
          stoppedEarly: r.stoppedEarly,
          failed: r.failed
        })
        if (r.backend) repo.setBackend(runId, r.backend)
        repo.setStatus(runId, r.status)
        const end: TrainingEvent =
          r.status === 'completed'
            ? {
                type: 'completed',
                runId,
                valAccuracy: r.valAccuracy,
                seconds: r.seconds,
                stoppedEarly: r.stoppedEarly
              }
            : { type: 'cancelled', runId, epochsDone: r.epochsDone }
        return { record: repo.get(runId) as RunRecord, end }
      },
      (err: unknown): { record: RunRecord; end: TrainingEvent } => {
        // A job that threw, or a worker that died (it sends nothing itself): the run failed with that error.
        stopHeartbeat()
        // Worded for the user (no SQLite text, stack or 40 KB string in the run's row or the event).
        const shown = toUserError(err)
        repo.setStatus(runId, 'failed', shown.message)
        return { record: repo.get(runId) as RunRecord, end: { type: 'failed', runId, error: shown } }
      }
    )
    const record = done.then(({ record, end }) => {
      // Released before the end is announced, so a listener may start the next run.
      this.release(runId)
      this.announce(end)
      return record
    })
    this.active = { runId, controller, done: record }
    void record.finally(() => this.release(runId))
    return { runId }
  }

  /** The run is no longer active (before its end is announced, so a listener may start the next one). */
  private release(runId: number): void {
    if (this.active?.runId === runId) this.active = null
  }

  /** Asks the running run to stop (within one batch); false when `runId` is not running. */
  cancel(runId: number): boolean {
    if (this.active?.runId !== runId) return false
    this.active.controller.abort()
    return true
  }

  /** Resolves when the run is no longer training, with its final record. */
  async wait(runId: number): Promise<RunRecord> {
    if (this.active?.runId === runId) return this.active.done
    return this.get(runId)
  }

  list(): RunSummary[] {
    return this.repo().repo.list()
  }

  get(runId: number): RunRecord {
    const run = this.repo().repo.get(runId)
    if (!run) throw notFoundError('training.runNotFound', { id: runId })
    return run
  }

  /** The stored evaluation of a run, or null before `evaluate`. */
  evaluation(runId: number): EvaluationResult | null {
    this.get(runId)
    return this.repo().repo.evaluation(runId)
  }

  private modelDir(run: RunRecord): string {
    const dir = run.modelDir
    if (run.status !== 'completed' || !dir || !existsSync(join(dir, 'metadata.json'))) {
      throw messageError('training.noModel', { id: run.id, status: run.status })
    }
    return dir
  }

  /**
   * Evaluates a completed run on the project's test split, stores the result, the test accuracy and one
   * prediction per image (for the "prediction disagrees with label" filter).
   */
  async evaluate(runId: number, opts: { signal?: AbortSignal } = {}): Promise<EvaluationResult> {
    const run = this.get(runId)
    const modelDir = this.modelDir(run)
    // Labels come from the model (classes may have changed since it was trained).
    const meta = JSON.parse(readFileSync(join(modelDir, 'metadata.json'), 'utf8')) as ModelMetadata
    const indexOf = new Map(meta.labels.map((l) => [l.classId, l.index]))
    const classIdOf = new Map(meta.labels.map((l) => [l.index, l.classId]))
    const test = this.projects
      .require()
      .repo.trainingImages({ split: 'test' })
      .filter((i) => indexOf.has(i.classId as number))
      .map((i) => toExample(i, indexOf))
    if (test.length === 0) throw messageError('training.noTestImages')
    const result = (await this.runner(
      { kind: 'evaluate', modelDir, examples: test },
      () => {},
      opts.signal ?? new AbortController().signal
    )) as EvaluateJobResult
    const { repo } = this.repo()
    const current = repo.get(runId) as RunRecord
    repo.saveEvaluation(
      runId,
      result.result,
      result.predictions
        .filter((p) => p.imageId !== null)
        .map((p) => ({
          imageId: p.imageId as number,
          classId: classIdOf.get(p.index) ?? null,
          confidence: p.confidence
        })),
      {
        epochsDone: current.epochsDone,
        valAccuracy: current.valAccuracy,
        testAccuracy: result.result.accuracy,
        seconds: current.seconds
      }
    )
    this.events.emit('libraryChanged', 'predictions')
    return result.result
  }

  /** Copies a completed run's model to an export folder (which must be new or empty). */
  exportRun(runId: number, outDir: string): Promise<ExportResult> {
    const run = this.get(runId)
    return copyExportFolder(this.modelDir(run), outDir, {
      metrics: { valAccuracy: run.valAccuracy, testAccuracy: run.testAccuracy }
    })
  }

  /** Cancels a running job and waits for it. */
  async dispose(): Promise<void> {
    const a = this.active
    if (!a) return
    a.controller.abort()
    await a.done
  }
}
