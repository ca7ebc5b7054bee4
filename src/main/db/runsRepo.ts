// Repository functions of training runs: every SQL statement about runs, their per-epoch curves, their
// evaluation and their per-image predictions. Its schema changes are in migrations.ts.
//
// A run being trained has an owner: the pid and host of the process training it, and a heartbeat that
// process writes every HEARTBEAT_MS. Opening a project fails only the queued/running runs whose owner is
// gone (no heartbeat for STALE_MS, or a pid that no longer exists on this host), and a trainer claims a run
// only when no live owner holds it, so two processes never train the same run folder.
import { hostname } from 'node:os'
import { runModelDir } from '../project/paths'
import type {
  BackendName,
  EvaluationResult,
  RunStatus,
  RunSummary,
  Strategy,
  TrainConfig
} from '../../shared/training'
import { transaction, type Db } from './database'
import { withCode } from '../errors'

/** Final figures of a run, kept in runs.metrics_json. */
export interface RunMetrics {
  epochsDone: number
  valAccuracy: number | null
  testAccuracy: number | null
  seconds: number | null
  stoppedEarly?: boolean
  /** Training images that could not be read. */
  failed?: { path: string; reason: string }[]
}

/** A run as the backend sees it: the summary plus server-side paths and the raw error. */
export interface RunRecord extends RunSummary {
  /** `<runDir>/model` once the run completed (the training job exports there), else null. */
  modelDir: string | null
  runDir: string | null
  finishedAt: string | null
  error: string | null
}

/** How often the process training a run writes its heartbeat (ms). */
export const HEARTBEAT_MS = 2000
/** A heartbeat older than this means the owner is gone (ms): five missed beats. */
export const STALE_MS = 10_000

/** The process training a run, as stored in the run's row. */
export interface RunOwner {
  pid: number
  host: string
  /** The last heartbeat, in ms since the epoch. */
  heartbeatAt: number
}

/** This process, as a run owner. */
export function thisProcess(): { pid: number; host: string } {
  return { pid: process.pid, host: hostname() }
}

/**
 * Whether `owner` is still training: its heartbeat is fresh and, on this host, its pid exists. A pid
 * that exists but belongs to another user (EPERM) counts as alive; only ESRCH means it is gone.
 */
export function ownerAlive(owner: RunOwner | null, now = Date.now(), host = hostname()): boolean {
  if (!owner) return false
  if (now - owner.heartbeatAt > STALE_MS) return false
  if (owner.host === host) {
    try {
      process.kill(owner.pid, 0)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false
    }
  }
  return true
}

/** The message of a refusal to train a run that `owner` is training. */
export function liveOwnerMessage(runId: number, owner: RunOwner, now = Date.now()): string {
  const ago = Math.max(0, Math.round((now - owner.heartbeatAt) / 1000))
  return (
    `run ${runId} is being trained by another process (pid ${owner.pid} on ${owner.host}, ` +
    `last heartbeat ${ago} s ago); wait for it to finish or stop that process first`
  )
}

/** A run some live process is training: starting a second trainer on it is refused. */
export class RunOwnedError extends Error {
  override name = 'RunOwnedError'
  constructor(
    readonly runId: number,
    readonly owner: RunOwner
  ) {
    super(liveOwnerMessage(runId, owner))
    // Coded too, so the UI says it in its language (src/shared/messages); the CLI prints the English.
    withCode(this, 'training.owned', {
      id: runId,
      pid: owner.pid,
      host: owner.host,
      ago: Math.max(0, Math.round((Date.now() - owner.heartbeatAt) / 1000))
    })
  }
}

interface Row {
  id: number
  created_at: string
  strategy: string
  status: string
  settings_json: string
  metrics_json: string | null
  backend: string | null
  threads: number | null
  train_images: number | null
  val_images: number | null
  run_dir: string | null
  finished_at: string | null
  error: string | null
  owner_pid: number | null
  owner_host: string | null
  heartbeat_at: number | null
}

function ownerOf(r: Pick<Row, 'owner_pid' | 'owner_host' | 'heartbeat_at'>): RunOwner | null {
  if (r.owner_pid === null || r.owner_host === null || r.heartbeat_at === null) return null
  return { pid: r.owner_pid, host: r.owner_host, heartbeatAt: r.heartbeat_at }
}

export type RunsRepo = ReturnType<typeof createRunsRepo>

export function createRunsRepo(db: Db) {
  const s = {
    insert: db.prepare(
      `INSERT INTO runs (created_at, strategy, status, settings_json, train_images, val_images, owner_pid, owner_host,
      heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
    ),
    setDir: db.prepare('UPDATE runs SET run_dir = ? WHERE id = ?'),
    setStatus: db.prepare('UPDATE runs SET status = ?, error = ?, finished_at = ? WHERE id = ?'),
    // A run that ended has no owner any more.
    setEnded: db.prepare(
      `UPDATE runs SET status = ?, error = ?, finished_at = ?, owner_pid = NULL, owner_host = NULL,
      heartbeat_at = NULL WHERE id = ?`
    ),
    owner: db.prepare('SELECT owner_pid, owner_host, heartbeat_at FROM runs WHERE id = ?'),
    claim: db.prepare(
      `UPDATE runs SET status = 'running', error = NULL, finished_at = NULL, owner_pid = ?, owner_host = ?,
      heartbeat_at = ? WHERE id = ?`
    ),
    beat: db.prepare('UPDATE runs SET heartbeat_at = ? WHERE id = ? AND owner_pid = ? AND owner_host = ?'),
    unfinished: db.prepare(
      "SELECT id, owner_pid, owner_host, heartbeat_at FROM runs WHERE status IN ('queued', 'running')"
    ),
    setBackend: db.prepare('UPDATE runs SET backend = ?, threads = coalesce(?, threads) WHERE id = ?'),
    setMetrics: db.prepare('UPDATE runs SET metrics_json = ? WHERE id = ?'),
    setEvaluation: db.prepare('UPDATE runs SET evaluation_json = ? WHERE id = ?'),
    epoch:
      db.prepare(`INSERT INTO run_epochs (run_id, epoch, train_loss, train_accuracy, val_loss, val_accuracy, seconds)
      VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, epoch) DO UPDATE SET train_loss = excluded.train_loss,
      train_accuracy = excluded.train_accuracy, val_loss = excluded.val_loss, val_accuracy = excluded.val_accuracy,
      seconds = excluded.seconds`),
    epochs: db.prepare('SELECT * FROM run_epochs WHERE run_id = ? ORDER BY epoch'),
    one: db.prepare('SELECT * FROM runs WHERE id = ?'),
    all: db.prepare('SELECT * FROM runs ORDER BY id DESC'),
    evaluation: db.prepare('SELECT evaluation_json FROM runs WHERE id = ?'),
    clearPredictions: db.prepare('DELETE FROM predictions WHERE run_id = ?'),
    prediction: db.prepare(
      'INSERT INTO predictions (run_id, image_id, class_id, confidence) VALUES (?, ?, ?, ?)'
    ),
    interrupted: db.prepare(
      `UPDATE runs SET status = 'failed', error = ?, owner_pid = NULL, owner_host = NULL, heartbeat_at = NULL
      WHERE id = ? AND status IN ('queued', 'running')`
    )
  }

  function toRecord(r: Row): RunRecord {
    const metrics = (r.metrics_json ? JSON.parse(r.metrics_json) : null) as RunMetrics | null
    const history = (
      s.epochs.all(r.id) as {
        epoch: number
        train_loss: number
        train_accuracy: number
        val_loss: number | null
        val_accuracy: number | null
      }[]
    ).map((e) => ({
      epoch: e.epoch,
      trainLoss: e.train_loss,
      trainAccuracy: e.train_accuracy,
      valLoss: e.val_loss,
      valAccuracy: e.val_accuracy
    }))
    return {
      id: r.id,
      strategy: r.strategy as Strategy,
      status: r.status as RunStatus,
      createdAt: r.created_at,
      config: JSON.parse(r.settings_json) as TrainConfig,
      backend: (r.backend as BackendName | null) ?? null,
      threads: r.threads ?? null,
      epochsDone: metrics?.epochsDone ?? history.length,
      valAccuracy: metrics?.valAccuracy ?? history.at(-1)?.valAccuracy ?? null,
      testAccuracy: metrics?.testAccuracy ?? null,
      seconds: metrics?.seconds ?? null,
      hasModel: r.status === 'completed' && r.run_dir !== null,
      trainImages: r.train_images ?? null,
      valImages: r.val_images ?? null,
      // The training job exports a completed run's model into its run folder (project/paths.ts).
      modelDir: r.status === 'completed' && r.run_dir ? runModelDir(r.run_dir) : null,
      history,
      runDir: r.run_dir,
      finishedAt: r.finished_at,
      error: r.error
    }
  }

  return {
    /**
     * A queued run, with the train/val image counts it starts with; with `owner`, that process holds it
     * from the first commit on, so no other process's open can fail it before its trainer starts.
     */
    create(
      config: TrainConfig,
      at: string,
      counts: { trainImages: number; valImages: number } | null = null,
      owner: { pid: number; host: string } | null = null
    ): number {
      const info = s.insert.run(
        at,
        config.strategy,
        'queued',
        JSON.stringify(config),
        counts?.trainImages ?? null,
        counts?.valImages ?? null,
        owner?.pid ?? null,
        owner?.host ?? null,
        owner ? Date.now() : null
      )
      return Number(info.lastInsertRowid)
    },
    /** The process training the run, as stored (it may be gone: see ownerAlive), or null. */
    owner(id: number): RunOwner | null {
      const r = s.owner.get(id) as Pick<Row, 'owner_pid' | 'owner_host' | 'heartbeat_at'> | undefined
      return r ? ownerOf(r) : null
    },
    /**
     * Makes `owner` the run's trainer and marks it running, unless another live process holds it (then
     * RunOwnedError). Read and write are one IMMEDIATE transaction, so of two processes claiming the same
     * run at once exactly one wins.
     */
    claim(id: number, owner: { pid: number; host: string }, now = Date.now()): void {
      transaction(db, () => {
        const r = s.owner.get(id) as Pick<Row, 'owner_pid' | 'owner_host' | 'heartbeat_at'> | undefined
        if (!r) throw new Error(`run ${id} not found`)
        const current = ownerOf(r)
        const self = current?.pid === owner.pid && current.host === owner.host
        if (current && !self && ownerAlive(current, now)) throw new RunOwnedError(id, current)
        s.claim.run(owner.pid, owner.host, now, id)
      })
    },
    /** The owner's heartbeat; false when the run is no longer this owner's (ended, or failed by an open). */
    beat: (id: number, owner: { pid: number; host: string }, now = Date.now()): boolean =>
      s.beat.run(now, id, owner.pid, owner.host).changes > 0,
    setRunDir: (id: number, dir: string): void => void s.setDir.run(dir, id),
    /** The run's status; an ended one (completed, failed, cancelled) also loses its owner. */
    setStatus(id: number, status: RunStatus, error: string | null = null): void {
      const done = status === 'completed' || status === 'failed' || status === 'cancelled'
      ;(done ? s.setEnded : s.setStatus).run(status, error, done ? new Date().toISOString() : null, id)
    },
    /** The backend, and the threads when known (a later call without them keeps the stored ones). */
    setBackend: (id: number, backend: BackendName, threads: number | null = null): void =>
      void s.setBackend.run(backend, threads, id),
    setMetrics: (id: number, metrics: RunMetrics): void => void s.setMetrics.run(JSON.stringify(metrics), id),
    addEpoch(
      id: number,
      e: {
        epoch: number
        trainLoss: number
        trainAccuracy: number
        valLoss: number | null
        valAccuracy: number | null
        seconds: number
      }
    ): void {
      s.epoch.run(id, e.epoch, e.trainLoss, e.trainAccuracy, e.valLoss, e.valAccuracy, e.seconds)
    },
    get(id: number): RunRecord | null {
      const r = s.one.get(id) as Row | undefined
      return r ? toRecord(r) : null
    },
    list: (): RunRecord[] => (s.all.all() as Row[]).map(toRecord),
    evaluation(id: number): EvaluationResult | null {
      const r = s.evaluation.get(id) as { evaluation_json: string | null } | undefined
      return r?.evaluation_json ? (JSON.parse(r.evaluation_json) as EvaluationResult) : null
    },
    /** Stores an evaluation and its per-image predictions, replacing earlier ones, in one transaction. */
    saveEvaluation(
      id: number,
      result: EvaluationResult,
      predictions: { imageId: number; classId: number | null; confidence: number | null }[],
      metrics: RunMetrics
    ): void {
      transaction(db, () => {
        s.setEvaluation.run(JSON.stringify(result), id)
        s.setMetrics.run(JSON.stringify(metrics), id)
        s.clearPredictions.run(id)
        for (const p of predictions) s.prediction.run(id, p.imageId, p.classId, p.confidence)
      })
    },
    /**
     * Fails the queued/running runs whose owner is gone (a crash, a kill -9, a run from before owners were
     * recorded); a run another live process is training is left alone. Returns how many were failed.
     */
    markInterrupted(now = Date.now()): number {
      // A project opened read-only is only looked at: its runs are shown as stored.
      if (db.readonly) return 0
      return transaction(db, () => {
        let n = 0
        for (const r of s.unfinished.all() as Pick<
          Row,
          'id' | 'owner_pid' | 'owner_host' | 'heartbeat_at'
        >[]) {
          const owner = ownerOf(r)
          if (ownerAlive(owner, now)) continue
          const who = owner ? ` (process ${owner.pid} on ${owner.host})` : ''
          n += s.interrupted.run(`interrupted: the app stopped during training${who}`, r.id).changes
        }
        return n
      })
    }
  }
}
