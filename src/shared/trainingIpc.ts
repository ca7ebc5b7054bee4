// The training slice of the IPC contract: what each training channel answers, and the progress event.
// Merged into ./ipc.ts; the arguments' schemas are in ./contract/channels.ts. Implemented by
// createTrainingHandlers (src/main/backend/training.ts) over TrainingService.
import type {
  EvaluationResult,
  RunSummary,
  TrainConfig,
  TrainingEvent,
  TrainingHistory,
  Strategy
} from './training'

export interface TrainingResults {
  /** A default config for a strategy (real sizes), for the training form to start from. */
  'training:defaults': TrainConfig
  /** The tutorial's recommendation; `threshold` images per class separates small from large (default 500). */
  'training:recommend': { strategy: Strategy; reason: string }
  /** Start a run on the open project's train/val split; progress arrives as `training-progress` events. */
  'training:start': { runId: number }
  /** Stop a running run within one batch; false when it is not running. */
  'training:cancel': { cancelled: boolean }
  /** Continue a cancelled or failed run from its last per-epoch checkpoint. */
  'training:resume': { runId: number }
  /** Runs of the open project, newest first, with their curves. */
  'training:list': RunSummary[]
  'training:get': RunSummary
  /** The run in progress, or null. */
  'training:running': { runId: number | null }
  /** A run's streamed events so far (batches, epochs, phase), for a page that reloads mid-run. */
  'training:history': TrainingHistory
  /** Evaluate a completed run on the test split; stores per-image predictions (library filter `disagreesWithRun`). */
  'training:evaluate': EvaluationResult
  /** The stored evaluation of a run, or null before `training:evaluate`. */
  'training:evaluation': EvaluationResult | null
  /** Copy a completed run's model to a new or empty folder (TF.js model, model.onnx, labels, metadata, README). */
  'training:export': { dir: string; files: string[]; onnxError: string | null }
}

export const TRAINING_CHANNEL_NAMES: Record<keyof TrainingResults, true> = {
  'training:defaults': true,
  'training:recommend': true,
  'training:start': true,
  'training:cancel': true,
  'training:resume': true,
  'training:list': true,
  'training:get': true,
  'training:running': true,
  'training:history': true,
  'training:evaluate': true,
  'training:evaluation': true,
  'training:export': true
}

export const TRAINING_CHANNELS = Object.freeze(
  Object.keys(TRAINING_CHANNEL_NAMES) as (keyof TrainingResults)[]
)

export interface TrainingEvents {
  /** Every progress event of every run (batch events at most a few per second per run). */
  'training-progress': TrainingEvent
}

export const TRAINING_EVENT_NAMES: Record<keyof TrainingEvents, true> = { 'training-progress': true }
export const TRAINING_EVENTS = Object.freeze(Object.keys(TRAINING_EVENT_NAMES) as (keyof TrainingEvents)[])
