// The engine's jobs as plain messages, so the same code runs in the training child process (trainWorker.ts)
// or in-process (CLI, tests): train a model and leave a complete export folder in the run folder, classify
// labelled images with such a folder, or say what the process that trains runs on (the doctor's diagnosis).
// Inputs and results are serialisable; no tensors cross.
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import type {
  BackendName,
  BaseModel,
  EvaluationResult,
  TrainConfig,
  TrainingProgress
} from '../../../shared/training'
import type { ClassLabel, Example } from '../data/types'
import { backendInfo, initBackend } from '../tfjs/backend'
import { train, type TrainResult } from '../train/trainer'
import type { WorkerEntry } from '../train/dataParallel'
import { buildMetadata, exportModelFolder } from '../export/folder'
import { classifyExamples, loadClassifier } from '../evaluate/classifier'
import { argmaxRow, evaluatePredictions } from '../evaluate/metrics'
import type { EpochRecord } from '../train/checkpoint'
import { RUN_FILES } from '../../project/paths'
import { mixSeed } from '../../../shared/random'
import { diagnose, gatherFacts, type Diagnosis } from '../tfjs/doctor'
import { loadOnnxRuntime } from '../evaluate/onnxRuntime'
import { defaultTrainConfig, type BaseInfo } from '../train/config'
import { createBatchSource } from '../data/batches'
import { defaultPreprocessing } from '../data/preprocess'
import { computeFeatures, makeForward } from '../features/extract'
import { buildModel } from '../models/strategies'
import { FastHead, fastHeadSupport } from '../train/fastHead'
import { stratifiedFolds } from '../../review/folds'
import {
  duplicatePairs,
  nearestNeighbours,
  neighbourVotes,
  normaliseRows,
  outlierScores,
  standardiseRows
} from '../../review/neighbours'
import { projectMap, UmapCancelled, type MapFallback, type MapMethod } from '../../review/projection'

/** The map's fallback projection, for callers that used it from here. */
export { projectPca } from '../../review/projection'

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

/**
 * The data review's heavy part (src/main/review): out-of-sample class probabilities of every labelled image
 * by k-fold cross-validation, the images' embeddings, their nearest neighbours and outlier scores. Progress
 * goes out as `phase` events whose `runId` is the 1-based fold (0 outside the folds): `loading` reads pixels
 * for the embedding, `features` computes the base's features, `training` counts batches over all folds,
 * `evaluating` the held-out images predicted, `saving` the neighbour search, and `map` the embedding map's
 * UMAP epochs (done/total in epochs).
 */
export interface ReviewJob {
  kind: 'review'
  /** Labelled examples (label >= 0) and, for duplicates and outliers only, unlabelled ones (label -1). */
  examples: Example[]
  classes: ClassLabel[]
  folds: number
  /** Epochs per fold model (default REVIEW_EPOCHS for the engine). */
  epochs?: number
  seed: number
  /** A resolved feature-extraction base (bvlc-npy, torchvision-pth, onnx): a head on its features per fold. */
  base?: BaseModel
  info?: BaseInfo
  /** Crop to each image's ROI where it has one (a GTSRB-CSV import with cropToRoi). */
  cropToRoi: boolean
  /** Folder for the fold models' run folders (removed after each fold). */
  workDir: string
  featureCacheDir: string
  duplicateThreshold: number
  /** Neighbours searched per image (default 10). */
  neighbours?: number
  /** Augment the fold models' training images (default off). */
  augment?: boolean
  /** The neighbours' votes' share in the label issues' probabilities (default NEIGHBOUR_WEIGHT). */
  neighbourWeight?: number
  /** Only the embedding, duplicates and outliers: no fold models (the leak check of the bench). */
  skipLabelIssues?: boolean
  /** Most images the map's UMAP is fitted on (default UMAP_MAX_FIT; tests use fewer to reach the sampling). */
  mapMaxFit?: number
  backend?: BackendName
  gradWorker?: WorkerEntry
}

export type Job = TrainJob | EvaluateJob | DoctorJob | ReviewJob

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

export interface ReviewJobResult {
  kind: 'review'
  engine: 'compact-cnn' | 'base-features'
  folds: number
  epochs: number
  /** Indices into the job's examples that have out-of-sample probabilities (labelled and read). */
  rows: number[]
  /** rows.length x classes.length, row-major: the fold models' blended with the neighbours' votes. */
  probabilities: number[]
  /** The fold models' probabilities alone. */
  modelProbabilities: number[]
  /** The neighbours' share of the blend. */
  neighbourWeight: number
  embedding: 'pixels' | 'base-features'
  embeddingDim: number
  search: 'usearch' | 'exact'
  /** Near-duplicate pairs as [example index, example index, similarity], most similar first. */
  pairs: [number, number, number][]
  /** Outlier score per example index (null where the image could not be read). */
  outlierScores: (number | null)[]
  failed: { path: string; reason: string }[]
  seconds: number
  /** The embedding map: [x, y] per example index (null where the image could not be read). */
  projection?: ([number, number] | null)[]
  /** How the map was drawn: UMAP, or PCA when there were too few images for UMAP or it failed. */
  mapMethod?: MapMethod
  mapFallback?: MapFallback | null
  /** Images UMAP was fitted on (a larger library: a seeded sample; the rest placed by nearest neighbour). */
  mapFitted?: number
  mapSeconds?: number
}

export type JobResult = TrainJobResult | EvaluateJobResult | DoctorJobResult | ReviewJobResult

/**
 * Epochs per fold model when the job does not say: the compact CNN's short recipe (the full one is 21; with
 * one-cycle, a few epochs already put a mislabelled image far below its class's threshold), and the fused
 * head's, which is cheap.
 */
export const REVIEW_EPOCHS = { 'compact-cnn': 6, 'base-features': 30 } as const

/** The compact CNN's epochs per fold: at least 6, and enough for ~600 steps, at most 30. */
export function reviewEpochs(foldTrainImages: number, batchSize: number): number {
  const batches = Math.max(1, Math.ceil(foldTrainImages / batchSize))
  return Math.max(REVIEW_EPOCHS['compact-cnn'], Math.min(30, Math.ceil(600 / batches)))
}

/** The neighbours' share of the probabilities the label issues are ranked on. */
export const NEIGHBOUR_WEIGHT = 0

/** Side of the downsampled image a pixel embedding is made of (3 x 16 x 16 = 768 values). */
const PIXEL_SIDE = 16

class ReviewCancelled extends Error {
  constructor() {
    super('review cancelled')
    this.name = 'ReviewCancelled'
  }
}

async function runReview(
  job: ReviewJob,
  onEvent: (e: TrainingProgress) => void,
  signal?: AbortSignal
): Promise<ReviewJobResult> {
  const started = Date.now()
  if (!backendInfo()) await initBackend({ prefer: job.backend, logger: () => {} })
  const C = job.classes.length
  const n = job.examples.length
  const rowOf = new Map<Example, number>(job.examples.map((e, i) => [e, i]))
  const failed = new Map<string, string>()
  const noteFailed = (list: { path: string; reason: string }[]): void => {
    for (const f of list) if (!failed.has(f.path)) failed.set(f.path, f.reason)
  }
  const phase = (
    p: Extract<TrainingProgress, { type: 'phase' }>['phase'],
    done: number,
    total: number,
    fold = 0
  ): void => onEvent({ type: 'phase', runId: fold, phase: p, done, total })
  const check = (): void => {
    if (signal?.aborted) throw new ReviewCancelled()
  }
  const engine = job.base ? 'base-features' : 'compact-cnn'
  let epochs = job.epochs ?? REVIEW_EPOCHS[engine]
  const labelled = job.skipLabelIssues
    ? []
    : job.examples.map((e, i) => (e.label >= 0 ? i : -1)).filter((i) => i >= 0)
  const fold = stratifiedFolds(
    labelled.map((i) => job.examples[i].label),
    job.folds,
    job.seed
  )
  const probs = new Float32Array(n * C).fill(NaN)

  // Embedding rows: the base's features, or a small standardised copy of the pixels.
  let dim: number
  let embed: Float32Array
  const read = new Uint8Array(n)
  if (job.base) {
    if (!fastHeadSupport().ok) throw new Error(`the fused head cannot run here: ${fastHeadSupport().reason}`)
    const config = defaultTrainConfig('feature-extraction', job.base, job.info)
    config.preprocessing.cropToRoi = job.cropToRoi
    const built = await buildModel(config, Math.max(2, C))
    let features: Awaited<ReturnType<typeof computeFeatures>>
    try {
      features = await computeFeatures({
        base: built.base,
        onnxBase: built.onnxBase,
        dim: built.featureDim,
        baseKey: built.baseKey ?? 'random',
        preprocessing: built.preprocessing,
        examples: job.examples,
        cacheDir: job.featureCacheDir,
        batchSize: 32,
        signal,
        makeSource: createBatchSource,
        onProgress: (done, total) => phase('features', done, total)
      })
    } finally {
      built.dispose()
    }
    noteFailed(features.failed)
    dim = features.dim
    embed = new Float32Array(n * dim)
    job.examples.forEach((e, i) => {
      const v = features.byHash.get(e.hash.toLowerCase())
      if (!v) return
      embed.set(v, i * dim)
      read[i] = 1
    })
    features.dispose()
    check()
    // One head per fold on the resident features of the labelled images that were read.
    const rows = labelled.filter((i) => read[i])
    const foldOf = new Map(labelled.map((i, k) => [i, fold[k]]))
    const x = new Float32Array(rows.length * dim)
    const y = new Int32Array(rows.length)
    rows.forEach((r, k) => {
      x.set(embed.subarray(r * dim, (r + 1) * dim), k * dim)
      y[k] = job.examples[r].label
    })
    const batchSize = 64
    for (let f = 0; f < (rows.length ? job.folds : 0); f++) {
      const head = FastHead.create({
        dim,
        numClasses: C,
        maxBatch: batchSize,
        optimizer: 'adam',
        learningRate: 3e-3
      })
      try {
        head.setFeatures(x, y, rows.length)
        const trainIdx = rows.flatMap((r, k) => (foldOf.get(r) !== f ? [k] : []))
        const rand = mixSeed(job.seed, f)
        for (let ep = 0; ep < epochs; ep++) {
          const order = Int32Array.from(trainIdx)
          let s = mixSeed(rand, ep)
          for (let i = order.length - 1; i > 0; i--) {
            s = mixSeed(s, i)
            const j = s % (i + 1)
            ;[order[i], order[j]] = [order[j], order[i]]
          }
          head.trainEpoch(order, { batchSize })
          phase('training', f * epochs + ep + 1, job.folds * epochs, f + 1)
          check()
        }
        const held = rows.flatMap((r, k) => (foldOf.get(r) === f ? [k] : []))
        const hx = new Float32Array(held.length * dim)
        held.forEach((k, h) => hx.set(x.subarray(k * dim, (k + 1) * dim), h * dim))
        const p = head.predict(hx, held.length)
        held.forEach((k, h) => probs.set(p.subarray(h * C, (h + 1) * C), rows[k] * C))
        phase('evaluating', f + 1, job.folds, f + 1)
      } finally {
        head.dispose()
      }
    }
    // Centred on the data set's mean before the cosine: post-ReLU features are all positive, so raw
    // vectors of unrelated images already sit at a high cosine to each other.
    const mean = new Float64Array(dim)
    let seen = 0
    for (let i = 0; i < n; i++) {
      if (!read[i]) continue
      seen++
      for (let k = 0; k < dim; k++) mean[k] += embed[i * dim + k]
    }
    for (let i = 0; i < n; i++)
      if (read[i]) for (let k = 0; k < dim; k++) embed[i * dim + k] -= mean[k] / Math.max(1, seen)
    normaliseRows(embed, n, dim)
  } else {
    dim = 3 * PIXEL_SIDE * PIXEL_SIDE
    embed = new Float32Array(n * dim)
    const prep = defaultPreprocessing('compact', { inputSize: PIXEL_SIDE, cropToRoi: job.cropToRoi })
    const source = createBatchSource({
      examples: job.examples,
      preprocessing: prep,
      batchSize: 256,
      shuffle: false,
      seed: 0
    })
    let done = 0
    for await (const b of source.epoch(0, { signal })) {
      noteFailed(b.failed)
      b.examples.slice(0, b.size).forEach((e, k) => {
        const r = rowOf.get(e)!
        embed.set(b.x.subarray(k * dim, (k + 1) * dim), r * dim)
        read[r] = 1
      })
      done += b.size + b.failed.length
      phase('loading', done, n)
      check()
    }
    standardiseRows(embed, n, dim)

    const config = defaultTrainConfig('custom')
    // The model bench/REVIEW.md measured: the compact CNN at half the recipe's width, one view at test time
    // (a fold model is judged k times per review; the recipe's width and zoom cost 2-4x for no measured gain).
    config.model = { architecture: 'compact', width: 0.5, fcUnits: 256, dropout: 0.25 }
    delete config.preprocessing.testTimeZoom
    // Small libraries get smaller batches and more epochs, so each fold model takes at least ~600 steps
    // (fewer leave it near chance on a few hundred images); a large one gets the short recipe's epochs.
    const foldTrain = Math.ceil((labelled.length * (job.folds - 1)) / job.folds)
    config.batchSize = Math.max(16, Math.min(64, 2 ** Math.round(Math.log2(Math.max(1, foldTrain / 40)))))
    config.epochs = job.epochs ?? reviewEpochs(foldTrain, config.batchSize)
    config.earlyStoppingPatience = 0
    // No augmentation: in a short schedule it slows convergence more than it helps (bench/REVIEW.md).
    config.augmentation = { ...config.augmentation, enabled: job.augment ?? false }
    config.seed = job.seed
    config.preprocessing.cropToRoi = job.cropToRoi
    epochs = config.epochs
    const perFold = labelled.map((i, k) => ({ i, f: fold[k] }))
    const batchesOf = (count: number): number => Math.ceil(count / config.batchSize)
    const totalBatches = Array.from({ length: job.folds }, (_, f) =>
      batchesOf(perFold.filter((p) => p.f !== f).length)
    ).reduce((a, c) => a + c * epochs, 0)
    let batchesBefore = 0
    for (let f = 0; f < (perFold.length ? job.folds : 0); f++) {
      const trainSet = perFold.filter((p) => p.f !== f).map((p) => job.examples[p.i])
      const heldOut = perFold.filter((p) => p.f === f).map((p) => job.examples[p.i])
      const runDir = join(job.workDir, `fold-${f + 1}`)
      const before = batchesBefore
      const result = await train(
        { ...config, seed: mixSeed(job.seed, f) },
        { train: trainSet, val: [], classes: job.classes },
        {
          onEvent: (e) => {
            if (e.type === 'batch')
              phase('training', before + (e.epoch - 1) * e.batchesPerEpoch + e.batch, totalBatches, f + 1)
          },
          signal,
          runDir,
          gradWorker: job.gradWorker
        }
      )
      batchesBefore += batchesOf(trainSet.length) * epochs
      noteFailed(result.failed)
      if (result.status === 'cancelled' || !result.built) throw new ReviewCancelled()
      try {
        const forward = await makeForward(result.built.trainable, C, 'auto')
        try {
          const prep = result.built.preprocessing
          const side = prep.inputSize
          const held = createBatchSource({
            examples: heldOut,
            preprocessing: prep,
            batchSize: 128,
            shuffle: false,
            seed: 0
          })
          let predicted = 0
          for await (const b of held.epoch(0, { signal })) {
            noteFailed(b.failed)
            if (b.size === 0) continue
            const p = await forward.run(b.x.subarray(0, b.size * side * side * 3), b.size, [side, side, 3])
            b.examples
              .slice(0, b.size)
              .forEach((e, k) => probs.set(p.subarray(k * C, (k + 1) * C), rowOf.get(e)! * C))
            predicted += b.size
            phase('evaluating', predicted, heldOut.length, f + 1)
          }
        } finally {
          await forward.close()
        }
      } finally {
        result.built.dispose()
        rmSync(runDir, { recursive: true, force: true })
      }
      check()
    }
  }

  // Neighbours and outliers over the images that were read.
  phase('saving', 0, 1)
  const readRows = job.examples.map((_, i) => i).filter((i) => read[i])
  const packed = new Float32Array(readRows.length * dim)
  readRows.forEach((r, k) => packed.set(embed.subarray(r * dim, (r + 1) * dim), k * dim))
  const nn = nearestNeighbours(packed, readRows.length, dim, job.neighbours ?? 10)
  const pairs = duplicatePairs(nn, job.duplicateThreshold).map(
    (p) => [readRows[p.a], readRows[p.b], p.similarity] as [number, number, number]
  )
  const packedLabels = Int32Array.from(readRows, (r) => job.examples[r].label)
  const scores = outlierScores(packed, readRows.length, dim, packedLabels, C, nn)
  const votes = neighbourVotes(nn, packedLabels, C)
  const outlier: (number | null)[] = new Array<number | null>(n).fill(null)
  readRows.forEach((r, k) => (outlier[r] = scores[k]))
  phase('saving', 1, 1)
  // The map: UMAP over the same neighbour graph, epoch by epoch with the cancel checked in between.
  const mapStarted = Date.now()
  let map: Awaited<ReturnType<typeof projectMap>>
  try {
    map = await projectMap(packed, readRows.length, dim, nn, {
      seed: job.seed,
      maxFit: job.mapMaxFit,
      signal,
      onEpoch: (done, total) => phase('map', done, total)
    })
  } catch (err) {
    if (err instanceof UmapCancelled) throw new ReviewCancelled()
    throw err
  }
  const xy = map.xy
  const projection: ([number, number] | null)[] = new Array<[number, number] | null>(n).fill(null)
  readRows.forEach((r, k) => (projection[r] = [xy[2 * k], xy[2 * k + 1]]))

  // The label issues' probabilities: the fold model's, blended with the neighbours' votes (both out of
  // sample), since a mislabelled image's near-identical neighbours carry its true label more surely than a
  // short-trained model does (bench/REVIEW.md measures each alone and the blend).
  const packedRow = new Map(readRows.map((r, k) => [r, k]))
  const rows = labelled.filter((i) => !Number.isNaN(probs[i * C]))
  const model: number[] = new Array<number>(rows.length * C)
  const flat: number[] = new Array<number>(rows.length * C)
  const w = job.neighbourWeight ?? NEIGHBOUR_WEIGHT
  rows.forEach((r, k) => {
    const v = packedRow.get(r)
    for (let c = 0; c < C; c++) {
      const p = probs[r * C + c]
      model[k * C + c] = p
      flat[k * C + c] = v === undefined ? p : (1 - w) * p + w * votes[v * C + c]
    }
  })
  return {
    kind: 'review',
    engine,
    folds: job.folds,
    epochs,
    rows,
    probabilities: flat,
    modelProbabilities: model,
    neighbourWeight: w,
    embedding: job.base ? 'base-features' : 'pixels',
    embeddingDim: dim,
    search: nn.search,
    pairs,
    outlierScores: outlier,
    failed: [...failed].map(([path, reason]) => ({ path, reason })),
    seconds: (Date.now() - started) / 1000,
    projection,
    mapMethod: map.method,
    mapFallback: map.fallback,
    mapFitted: map.fitted,
    mapSeconds: (Date.now() - mapStarted) / 1000
  }
}

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
  if (job.kind === 'review') return runReview(job, onEvent, signal)
  return job.kind === 'train' ? runTrain(job, onEvent, signal) : runEvaluate(job, signal)
}
