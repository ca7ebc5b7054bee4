// Per-epoch checkpoints of a training run: a plain JSON record (where the loop is, the curves, the
// early-stopping state) plus the trained model's weights, in the run folder. Resuming reads them back.
//
// Layout of `runDir`:
//   checkpoint.json          the record below, written last (atomically), so it never names missing weights
//   checkpoint/              model.json + weights.bin of the model after `epoch`
//   best/                    the same for the epoch with the lowest validation loss (early stopping)
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type * as tf from '@tensorflow/tfjs'
import type { TrainConfig } from '../../../shared/training'
import { loadWeightsInto, saveModel } from '../tfjs/ioHandlers'
import { RUN_FILES } from '../../project/paths'
import { writeFileAtomicSync } from '../../project/atomicFile'

export interface EpochRecord {
  epoch: number
  trainLoss: number
  trainAccuracy: number
  valLoss: number | null
  valAccuracy: number | null
  seconds: number
}

export interface CheckpointRecord {
  version: 1
  /** Epochs completed (the next epoch to run has this 0-based index). */
  epoch: number
  config: TrainConfig
  numClasses: number
  history: EpochRecord[]
  bestValLoss: number | null
  bestEpoch: number | null
  /** Epochs since the best validation loss. */
  sinceBest: number
  /** Seconds spent training so far (across resumes). */
  seconds: number
  savedAt: string
}

export const CHECKPOINT_JSON = RUN_FILES.checkpointJson

function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomicSync(path, JSON.stringify(value, null, 2))
}

/** Saves the model to a fresh folder and swaps it in, so a crash mid-write leaves the previous one. */
async function saveModelAtomic(model: tf.LayersModel, dir: string): Promise<void> {
  const tmp = `${dir}.tmp`
  rmSync(tmp, { recursive: true, force: true })
  await saveModel(model, tmp)
  rmSync(dir, { recursive: true, force: true })
  renameSync(tmp, dir)
}

export async function saveCheckpoint(
  runDir: string,
  record: CheckpointRecord,
  model: tf.LayersModel
): Promise<void> {
  await saveModelAtomic(model, join(runDir, RUN_FILES.checkpoint))
  writeJsonAtomic(join(runDir, CHECKPOINT_JSON), record)
}

export async function saveBest(runDir: string, model: tf.LayersModel): Promise<void> {
  await saveModelAtomic(model, join(runDir, RUN_FILES.best))
}

export function hasBest(runDir: string): boolean {
  return existsSync(join(runDir, RUN_FILES.best, 'model.json'))
}

export async function restoreBest(runDir: string, model: tf.LayersModel): Promise<void> {
  await loadWeightsInto(model, join(runDir, RUN_FILES.best))
}

/** The last checkpoint of `runDir`, or null when it has none. */
export function readCheckpoint(runDir: string): CheckpointRecord | null {
  const path = join(runDir, CHECKPOINT_JSON)
  if (!existsSync(path)) return null
  let record: CheckpointRecord
  try {
    record = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    throw new Error(`checkpoint ${path} is unreadable: ${(err as Error).message}`)
  }
  if (record.version !== 1)
    throw new Error(`checkpoint ${path} has unknown version ${String(record.version)}`)
  return record
}

export async function restoreCheckpoint(runDir: string, model: tf.LayersModel): Promise<void> {
  await loadWeightsInto(model, join(runDir, RUN_FILES.checkpoint))
}
