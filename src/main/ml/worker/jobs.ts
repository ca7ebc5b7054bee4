// The engine's jobs as plain messages, so the same code runs in the training child process (trainWorker.ts)
// or in-process (CLI, tests): train a model and leave a complete export folder in the run folder, classify
// labelled images with such a folder, or say what the process that trains runs on (the doctor's diagnosis).
// Inputs and results are serialisable; no tensors cross.
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import type { BackendName, EvaluationResult, TrainConfig, TrainingProgress } from '../../../shared/training'
import type { ClassLabel, Example } from '../data/types'
import { backendInfo, initBackend } from '../tfjs/backend'
import { train, type TrainResult } from '../train/trainer'
import type { WorkerEntry } from '../train/dataParallel'
import { buildMetadata, exportModelFolder } from '../export/folder'
import { classifyExamples, loadClassifier } from '../evaluate/classifier'
import { argmaxRow, evaluatePredictions } from '../evaluate/metrics'
import type { EpochRecord } from '../train/checkpoint'
import { RUN_FILES } from '../../project/paths'
import { diagnose, gatherFacts, type Diagnosis } from '../tfjs/doctor'
import { loadOnnxRuntime } from '../evaluate/onnxRuntime'

export interface TrainJob {
  kind: 'train'
  runId: number
  config: TrainConfig
  train: Example[]
  val: Example[]
  classes: ClassLabel[]
  runDir: string
  featureCacheDir: string
  /** Continue from the run folder's last checkpoint. */
  resume?: boolean
  /** Force a TF.js backend (default: the best available). */
  backend?: BackendName
  /** The gradient worker's entry, from the composition root (data-parallel training on wasm). */
  gradWorker?: WorkerEntry
}

export interface EvaluateJob {
  kind: 'evaluate'
  /** Export folder (a run's `model/`). */
  modelDir: string
  examples: Example[]
}

/** The doctor's diagnosis of the process that trains (the About screen; tfjs/doctor.ts). */
export interface DoctorJob {
  kind: 'doctor'
}

export type Job = TrainJob | EvaluateJob | DoctorJob

export interface TrainJobResult {
  kind: 'train'
  status: TrainResult['status']
  backend: BackendName
  epochsDone: number
  history: EpochRecord[]
  valAccuracy: number | null
  stoppedEarly: boolean
  seconds: number
  failed: { path: string; reason: string }[]
  /** Export folder of the trained model (null when cancelled). */
  modelDir: string | null
}

export interface EvaluateJobResult {
  kind: 'evaluate'
  result: EvaluationResult
  /** One row per image that was read: predicted output index and its probability. */
  predictions: { path: string; imageId: number | null; index: number; confidence: number }[]
}

export interface DoctorJobResult {
  kind: 'doctor'
  diagnosis: Diagnosis
}

export type JobResult = TrainJobResult | EvaluateJobResult | DoctorJobResult

/** Folder of a run's trained model inside its run folder. */
export const MODEL_SUBDIR = RUN_FILES.model

async function runTrain(
  job: TrainJob,
  onEvent: (e: TrainingProgress) => void,
  signal?: AbortSignal
): Promise<TrainJobResult> {
  if (!backendInfo()) await initBackend({ prefer: job.backend, logger: () => {} })
  const result = await train(
    job.config,
    { train: job.train, val: job.val, classes: job.classes },
    {
      onEvent,
      signal,
      runDir: job.runDir,
      runId: job.runId,
      resumeFrom: job.resume ? job.runDir : undefined,
      featureCacheDir: job.featureCacheDir,
      gradWorker: job.gradWorker
    }
  )
  let modelDir: string | null = null
  if (result.built) {
    try {
      onEvent({ type: 'phase', runId: job.runId, phase: 'saving', done: 0, total: 1 })
      modelDir = join(job.runDir, MODEL_SUBDIR)
      const meta = buildMetadata({
        config: job.config,
        preprocessing: result.built.preprocessing,
        classes: job.classes,
        valAccuracy: result.valAccuracy,
        testAccuracy: null,
        backend: result.backend
      })
      await exportModelFolder(result.built.model, meta, modelDir, { onnxBase: result.built.onnxBase })
    } finally {
      result.built.dispose()
    }
  }
  if (modelDir) {
    // A completed run cannot be resumed; its weight snapshots (240 MB each at full size) are dead weight.
    for (const sub of [RUN_FILES.checkpoint, RUN_FILES.best])
      rmSync(join(job.runDir, sub), { recursive: true, force: true })
  }
  return {
    kind: 'train',
    status: result.status,
    backend: result.backend,
    epochsDone: result.epochsDone,
    history: result.history,
    valAccuracy: result.valAccuracy,
    stoppedEarly: result.stoppedEarly,
    seconds: result.seconds,
    failed: result.failed,
    modelDir
  }
}

async function runEvaluate(job: EvaluateJob, signal?: AbortSignal): Promise<EvaluateJobResult> {
  const loaded = await loadClassifier(job.modelDir, { logger: () => {} })
  try {
    const r = await classifyExamples(loaded.classifier, job.examples, { signal })
    const n = loaded.classifier.numClasses
    const result = evaluatePredictions({
      probabilities: r.probabilities,
      numClasses: n,
      labels: r.labels,
      examples: r.examples,
      classes: loaded.labels,
      failed: r.failed
    })
    const predictions = r.examples.map((e, i) => {
      const best = argmaxRow(r.probabilities, i, n)
      return { path: e.path, imageId: e.imageId, index: best, confidence: r.probabilities[i * n + best] }
    })
    return { kind: 'evaluate', result, predictions }
  } finally {
    await loaded.classifier.dispose()
  }
}

/** Runs a job; progress goes to `onEvent`, the end is the result (or the rejection) for the caller to save. */
export async function runJob(
  job: Job,
  onEvent: (e: TrainingProgress) => void,
  signal?: AbortSignal
): Promise<JobResult> {
  if (job.kind === 'doctor')
    return { kind: 'doctor', diagnosis: diagnose(await gatherFacts(() => loadOnnxRuntime())) }
  return job.kind === 'train' ? runTrain(job, onEvent, signal) : runEvaluate(job, signal)
}
