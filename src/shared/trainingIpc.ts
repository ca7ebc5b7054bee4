// The training slice of the IPC contract, ready to merge into src/shared/ipc.ts:
//   export type Handlers = ProjectHandlers & LibraryHandlers & ClassHandlers & TrainingHandlers
//   Events: ... & TrainingEvents;  CHANNELS: [...,...TRAINING_CHANNELS];  EVENTS: [..., ...TRAINING_EVENTS]
// Implemented by createTrainingHandlers (src/main/services/trainingHandlers.ts) over TrainingService.
import type {
  EvaluationResult,
  RunSummary,
  Strategy,
  TrainConfig,
  TrainingEvent,
  BaseModel
} from './training'

export interface TrainingHandlers {
  /** A default config for a strategy (real sizes), for the training form to start from. */
  'training:defaults': (args: { strategy: Strategy; base?: BaseModel }) => TrainConfig
  /** The tutorial's recommendation; `threshold` images per class separates small from large (default 500). */
  'training:recommend': (args: { imagesPerClass: number; similar: boolean; threshold?: number }) => {
    strategy: Strategy
    reason: string
  }
  /** Start a run on the open project's train/val split; progress arrives as `training-progress` events. */
  'training:start': (args: { config: TrainConfig }) => { runId: number }
  /** Stop a running run within one batch; false when it is not running. */
  'training:cancel': (args: { runId: number }) => { cancelled: boolean }
  /** Continue a cancelled or failed run from its last per-epoch checkpoint. */
  'training:resume': (args: { runId: number }) => { runId: number }
  /** Runs of the open project, newest first, with their curves. */
  'training:list': (args: Record<string, never>) => RunSummary[]
  'training:get': (args: { runId: number }) => RunSummary
  /** The run in progress, or null. */
  'training:running': (args: Record<string, never>) => { runId: number | null }
  /** Evaluate a completed run on the test split; stores per-image predictions (library filter `disagreesWithRun`). */
  'training:evaluate': (args: { runId: number }) => EvaluationResult
  /** The stored evaluation of a run, or null before `training:evaluate`. */
  'training:evaluation': (args: { runId: number }) => EvaluationResult | null
  /** Copy a completed run's model to a new or empty folder (TF.js model, model.onnx, labels, metadata, README). */
  'training:export': (args: { runId: number; outDir: string }) => {
    dir: string
    files: string[]
    onnxError: string | null
  }
}

export const TRAINING_CHANNELS: readonly (keyof TrainingHandlers)[] = [
  'training:defaults',
  'training:recommend',
  'training:start',
  'training:cancel',
  'training:resume',
  'training:list',
  'training:get',
  'training:running',
  'training:evaluate',
  'training:evaluation',
  'training:export'
] as const

export interface TrainingEvents {
  /** Every progress event of every run (batch events at most a few per second per run). */
  'training-progress': TrainingEvent
}

export const TRAINING_EVENTS: readonly (keyof TrainingEvents)[] = ['training-progress'] as const
