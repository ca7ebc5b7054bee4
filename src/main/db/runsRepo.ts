// Repository functions of training runs: every SQL statement about runs, their per-epoch curves, their
// evaluation and their per-image predictions. Its schema changes are in migrations.ts.
import { runModelDir } from '../project/paths'
import type {
  BackendName,
  EvaluationResult,
  RunStatus,
  RunSummary,
  Strategy,
  TrainConfig
} from '../../shared/training'
import type { Db } from './database'

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
}

export type RunsRepo = ReturnType<typeof createRunsRepo>

export function createRunsRepo(db: Db) {
  const s = {
    insert: db.prepare(
      'INSERT INTO runs (created_at, strategy, status, settings_json, train_images, val_images) VALUES (?, ?, ?, ?, ?, ?)'
    ),
    setDir: db.prepare('UPDATE runs SET run_dir = ? WHERE id = ?'),
    setStatus: db.prepare('UPDATE runs SET status = ?, error = ?, finished_at = ? WHERE id = ?'),
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
      "UPDATE runs SET status = 'failed', error = 'interrupted: the app stopped during training' WHERE status IN ('queued', 'running')"
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
    /** A queued run, with the train/val image counts it starts with. */
    create(
      config: TrainConfig,
      at: string,
      counts: { trainImages: number; valImages: number } | null = null
    ): number {
      const info = s.insert.run(
        at,
        config.strategy,
        'queued',
        JSON.stringify(config),
        counts?.trainImages ?? null,
        counts?.valImages ?? null
      )
      return Number(info.lastInsertRowid)
    },
    setRunDir: (id: number, dir: string): void => void s.setDir.run(dir, id),
    setStatus(id: number, status: RunStatus, error: string | null = null): void {
      const done = status === 'completed' || status === 'failed' || status === 'cancelled'
      s.setStatus.run(status, error, done ? new Date().toISOString() : null, id)
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
      db.transaction(() => {
        s.setEvaluation.run(JSON.stringify(result), id)
        s.setMetrics.run(JSON.stringify(metrics), id)
        s.clearPredictions.run(id)
        for (const p of predictions) s.prediction.run(id, p.imageId, p.classId, p.confidence)
      })()
    },
    /** Runs left queued/running by a crash are failed when the project opens. */
    markInterrupted: (): number => s.interrupted.run().changes
  }
}
