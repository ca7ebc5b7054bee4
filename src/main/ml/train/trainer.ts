// The training loop shared by the four strategies. It reads top to bottom: build the model, (feature
// extraction: compute fc7 features once), then per epoch: train batches, validate, early-stop, checkpoint.
// Feature extraction's head, when it is one dense softmax layer, trains in the fused wasm kernel of
// fastHead.ts (about 20x the TF.js step, bench/RESULTS.md); its weights go back into the TF.js head at every
// epoch end, so validation, checkpoints, early stopping and export see the same model either way.
// Progress goes out through `onEvent` only, so the loop runs the same in a child process, a worker or a test;
// the run's end is the returned result (or the thrown error), which the caller saves and announces.
//
// Tensor ownership: every step runs in tf.tidy; what the loop keeps across steps (model, optimizer) is
// disposed at the end, so tf.memory().numTensors is back to its starting value after each epoch and run.
import * as tf from '@tensorflow/tfjs'
import type { BackendName, TrainConfig, TrainingProgress } from '../../../shared/training'
import type { Batch, BatchSource, BatchSourceOptions, ClassLabel, Example } from '../data/types'
import { backendInfo, initBackend } from '../tfjs/backend'
import { buildModel, type BuiltModel } from '../models/strategies'
import { computeFeatures, featureBatchSource, featuresAllZero, makeForward } from '../features/extract'
import { createBatchSource } from '../data/batches'
import { mirrorTable } from '../data/mirror'
import { HeapMomentumOptimizer } from '../tfjs/kernels/momentum'
import { batchGradients, dropoutLayers, reseedDropout, scoreProbabilities } from './gradients'
import { GradientWorker, type WorkerEntry } from './dataParallel'
import { trainThreads } from './threads'
import { denseSoftmaxHead, FastHead, fastHeadSupport } from './fastHead'
import {
  hasBest,
  readCheckpoint,
  restoreBest,
  restoreCheckpoint,
  saveBest,
  saveCheckpoint,
  type CheckpointRecord,
  type EpochRecord
} from './checkpoint'

export interface TrainData {
  train: Example[]
  val: Example[]
  /** One entry per output index, in index order. */
  classes: ClassLabel[]
}

export interface TrainOptions {
  /** Progress only (started, phase, batch, epoch); the end is the result. */
  onEvent(e: TrainingProgress): void
  signal?: AbortSignal
  /** Folder for checkpoints (created by the caller or here). */
  runDir: string
  /** Run id put on every event (0 outside a project). */
  runId?: number
  /** Resume from the last checkpoint in this run folder (usually `runDir`). */
  resumeFrom?: string
  /** Where fc7 features are cached (feature extraction); default `<runDir>/features`. */
  featureCacheDir?: string
  /** The gradient worker's entry (data-parallel training on wasm); without it a run uses one thread. */
  gradWorker?: WorkerEntry
  /** Replaces the data pipeline (tests). */
  createBatchSource?: (opts: BatchSourceOptions) => BatchSource
  /**
   * How validation runs after each epoch: 'auto' (default) exports the model as it stands to ONNX and runs
   * it in onnxruntime (about 10x TF.js wasm, see bench/RESULTS.md), falling back to TF.js when onnxruntime
   * or the export is unavailable; 'tfjs' always uses TF.js.
   */
  evaluateWith?: 'auto' | 'tfjs'
  /**
   * How feature extraction trains its head: 'auto' (default) in the fused wasm kernel (fastHead.ts) when the
   * head is one dense softmax layer and wasm SIMD is there, else TF.js; 'tfjs' always uses the TF.js step.
   */
  headTrainer?: 'auto' | 'tfjs'
}

export interface TrainResult {
  status: 'completed' | 'cancelled'
  /** The trained image -> probabilities model; the caller owns it (call `dispose`). Null when cancelled. */
  built: BuiltModel | null
  backend: BackendName
  epochsDone: number
  history: EpochRecord[]
  valAccuracy: number | null
  valLoss: number | null
  stoppedEarly: boolean
  seconds: number
  /** Images that could not be read and were skipped, once each. */
  failed: { path: string; reason: string }[]
  /** What ran the validation passes (null: no validation). */
  valEngine?: 'onnx' | 'tfjs' | null
  /** What trained feature extraction's head: the fused kernel or TF.js (absent for the image strategies). */
  headEngine?: 'fused' | 'tfjs'
}

export class TrainCancelled extends Error {
  constructor() {
    super('training cancelled')
    this.name = 'TrainCancelled'
  }
}

/**
 * The learning rate at `step` of `total` steps (0-based) for the config's schedule. One-cycle: linear
 * warm-up from lr/10 over the first 20 %, then cosine down to lr/1000 (Smith's super-convergence recipe,
 * which the PyTorch reference in bench/ uses too).
 */
export function scheduledRate(config: TrainConfig, step: number, total: number): number {
  const lr = config.learningRate
  const schedule = config.lrSchedule ?? 'constant'
  if (schedule === 'constant' || total <= 1) return lr
  const t = Math.min(1, Math.max(0, step / (total - 1)))
  if (schedule === 'cosine') return lr * 0.5 * (1 + Math.cos(Math.PI * t))
  const warm = 0.2
  if (t < warm) return lr / 10 + (lr - lr / 10) * (t / warm)
  const u = (t - warm) / (1 - warm)
  return lr / 1000 + (lr - lr / 1000) * 0.5 * (1 + Math.cos(Math.PI * u))
}

/** Sets the rate an optimizer applies from its next step on (Adam reads it per step, momentum keeps a scalar). */
function setRate(opt: tf.Optimizer, lr: number): void {
  // Not `instanceof`: tfjs's Optimizer[Symbol.hasInstance] is duck-typed, so Adam passes as Momentum.
  const o = opt as unknown as { learningRate: number; setLearningRate?: (lr: number) => void }
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr)
  else o.learningRate = lr
}

function makeOptimizer(config: TrainConfig): tf.Optimizer {
  if (!(config.learningRate > 0)) throw new Error(`learning rate must be > 0, got ${config.learningRate}`)
  return config.optimizer === 'adam'
    ? tf.train.adam(config.learningRate)
    : // tfjs's update in one SIMD pass on wasm: ~770 MiB less for the full AlexNet (kernels/momentum.ts).
      new HeapMomentumOptimizer(config.learningRate, 0.9)
}

/**
 * Frees an optimizer. tfjs 4.22's MomentumOptimizer.dispose() forgets the learning-rate scalar its
 * SGD parent keeps (`c`), one tensor per run, so that one is freed here too.
 */
function disposeOptimizer(opt: tf.Optimizer): void {
  opt.dispose()
  const c = (opt as unknown as { c?: tf.Tensor }).c
  if (opt instanceof tf.MomentumOptimizer && c && !c.isDisposed) c.dispose()
}

/**
 * The fused trainer for a feature-extraction head it can train (one dense softmax layer on the features, no
 * pretrained weights in it), with the TF.js optimizer's hyper-parameters and the head's current weights; null
 * where the TF.js step has to run.
 */
function fusedHead(
  built: BuiltModel,
  config: TrainConfig,
  optimizer: tf.Optimizer,
  numClasses: number
): { head: FastHead; layer: tf.layers.Layer } | null {
  if ((!built.base && !built.onnxBase) || built.pretrained.size > 0 || built.headOnlyEpochs > 0) return null
  const layer = denseSoftmaxHead(built.trainable)
  if (!layer || !fastHeadSupport().ok) return null
  const [kernel, bias] = layer.getWeights()
  if (kernel.shape[0] !== built.featureDim || kernel.shape[1] !== numClasses) return null
  const o = optimizer as unknown as {
    beta1?: number
    beta2?: number
    epsilon?: number
    momentum?: number
    useNesterov?: boolean
  }
  if (o.useNesterov) return null
  const head = FastHead.create({
    dim: built.featureDim,
    numClasses,
    maxBatch: config.batchSize,
    optimizer: config.optimizer,
    learningRate: config.learningRate,
    beta1: o.beta1,
    beta2: o.beta2,
    epsilon: o.epsilon,
    momentum: o.momentum
  })
  head.setWeights(kernel.dataSync(), bias.dataSync())
  return { head, layer }
}

/** Puts the fused trainer's weights into the TF.js head (validation, checkpoints and export read them there). */
function syncFusedHead(fused: { head: FastHead; layer: tf.layers.Layer }): void {
  const { kernel, bias } = fused.head.weights()
  tf.tidy(() =>
    fused.layer.setWeights([tf.tensor2d(kernel, [fused.head.dim, fused.head.numClasses]), tf.tensor1d(bias)])
  )
}

function validateConfig(config: TrainConfig, data: TrainData): void {
  if (!Number.isInteger(config.epochs) || config.epochs < 1)
    throw new Error(`epochs must be >= 1, got ${config.epochs}`)
  if (!Number.isInteger(config.batchSize) || config.batchSize < 1) {
    throw new Error(`batch size must be >= 1, got ${config.batchSize}`)
  }
  if (data.train.length === 0) throw new Error('the training set is empty: assign images to the train split')
  if (data.classes.length < 2)
    throw new Error(`training needs at least 2 classes, got ${data.classes.length}`)
  for (const ex of [...data.train, ...data.val]) {
    if (!(ex.label >= 0 && ex.label < data.classes.length)) {
      throw new Error(`${ex.path} has label index ${ex.label}, outside 0..${data.classes.length - 1}`)
    }
  }
}

/** Turns a batch into tensors [n, ...] and labels [n]; only the rows that decoded. */
function batchTensors(b: Batch, shape: number[]): { x: tf.Tensor; y: tf.Tensor1D } {
  return {
    x: tf.tensor(b.x.subarray(0, b.size * shape.reduce((a, c) => a * c, 1)), [b.size, ...shape]),
    y: tf.tensor1d(b.y.subarray(0, b.size), 'int32')
  }
}

function safeHistory(runDir: string): EpochRecord[] {
  try {
    return readCheckpoint(runDir)?.history ?? []
  } catch {
    return []
  }
}

export async function train(config: TrainConfig, data: TrainData, opts: TrainOptions): Promise<TrainResult> {
  const runId = opts.runId ?? 0
  const emit = (e: TrainingProgress): void => {
    try {
      opts.onEvent(e)
    } catch {
      // A listener's bug must not stop training.
    }
  }
  const started = Date.now()
  let built: BuiltModel | null = null
  let optimizer: tf.Optimizer | null = null
  let featureStore: { dispose(): void } | null = null
  let helper: GradientWorker | null = null
  let fused: { head: FastHead; layer: tf.layers.Layer } | null = null
  let epochsDone = 0
  try {
    validateConfig(config, data)
    const backend = (backendInfo() ?? (await initBackend({ logger: () => {} }))).name
    const numClasses = data.classes.length
    const makeSource = opts.createBatchSource ?? createBatchSource
    emit({ type: 'phase', runId, phase: 'loading', done: 0, total: 1 })
    built = await buildModel(config, numClasses)
    const prep = built.preprocessing
    const failed = new Map<string, string>()
    const noteFailed = (list: { path: string; reason: string }[]): void => {
      for (const f of list) if (!failed.has(f.path)) failed.set(f.path, f.reason)
    }

    // The sources the loop reads: images, or for feature extraction fc7 vectors computed once.
    let trainSource: BatchSource
    let valSource: BatchSource | null
    let inputShape: number[]
    if (built.base || built.onnxBase) {
      const features = await computeFeatures({
        base: built.base,
        onnxBase: built.onnxBase,
        dim: built.featureDim,
        baseKey: built.baseKey ?? 'random',
        preprocessing: prep,
        examples: [...data.train, ...data.val],
        cacheDir: opts.featureCacheDir ?? `${opts.runDir}/features`,
        batchSize: Math.max(config.batchSize, 32),
        signal: opts.signal,
        makeSource,
        onProgress: (done, total) => emit({ type: 'phase', runId, phase: 'features', done, total })
      })
      featureStore = features
      noteFailed(features.failed)
      if (featuresAllZero(features, data.train)) {
        throw new Error(
          "the base model's fc7 features are all zero for these images — the base does not fit this data " +
            '(check that its input size, preprocessing and weights belong together); a head trained on them ' +
            'could not learn anything'
        )
      }
      trainSource = featureBatchSource(features, data.train, {
        batchSize: config.batchSize,
        shuffle: true,
        classBalanced: config.classBalanced,
        numClasses,
        seed: config.seed
      })
      valSource = data.val.length
        ? featureBatchSource(features, data.val, {
            batchSize: 256,
            shuffle: false,
            numClasses,
            seed: config.seed
          })
        : null
      inputShape = [built.featureDim]
    } else {
      trainSource = makeSource({
        examples: data.train,
        preprocessing: prep,
        batchSize: config.batchSize,
        shuffle: true,
        augmentation: config.augmentation,
        mirror: config.augmentation.mirrorSigns ? mirrorTable(data.classes) : null,
        classBalanced: config.classBalanced,
        seed: config.seed
      })
      valSource = data.val.length
        ? makeSource({
            examples: data.val,
            preprocessing: prep,
            batchSize: config.batchSize,
            shuffle: false,
            seed: config.seed
          })
        : null
      inputShape = [prep.inputSize, prep.inputSize, 3]
    }

    // Resume: weights and loop state from the last checkpoint.
    let record: CheckpointRecord = {
      version: 1,
      epoch: 0,
      config,
      numClasses,
      history: [],
      bestValLoss: null,
      bestEpoch: null,
      sinceBest: 0,
      seconds: 0,
      savedAt: new Date().toISOString()
    }
    if (opts.resumeFrom) {
      const saved = readCheckpoint(opts.resumeFrom)
      if (!saved) throw new Error(`no checkpoint to resume from in ${opts.resumeFrom}`)
      if (saved.numClasses !== numClasses || saved.config.strategy !== config.strategy) {
        throw new Error(
          `checkpoint in ${opts.resumeFrom} is for ${saved.numClasses} classes with '${saved.config.strategy}', ` +
            `this run has ${numClasses} with '${config.strategy}'`
        )
      }
      await restoreCheckpoint(opts.resumeFrom, built.trainable)
      record = { ...saved, config }
    }
    epochsDone = record.epoch
    const secondsBefore = record.seconds

    optimizer = makeOptimizer(config)
    const trainable = built.trainable
    const vars = trainable.trainableWeights.map((w) => w.read() as tf.Variable)
    const scaled = new Set(
      config.pretrainedRateFactor !== 1
        ? trainable.trainableWeights
            .filter((w) => built!.pretrained.has(w.name))
            .map((w) => (w.read() as tf.Variable).name)
        : []
    )
    const factor = config.pretrainedRateFactor
    // Fine-tuning a pretrained backbone goes in two phases: the new head alone first (the pretrained
    // layers' gradients are zeroed, so a random head cannot wreck them), then every layer at the reduced rate.
    const headOnlyEpochs = built.headOnlyEpochs
    const headOnly = new Set(
      headOnlyEpochs > 0
        ? trainable.trainableWeights
            .filter((w) => built!.pretrained.has(w.name))
            .map((w) => (w.read() as tf.Variable).name)
        : []
    )
    let epochNow = record.epoch

    // Image strategies on a single-threaded backend: worker threads compute parts of each batch (one thread
    // per core, dataParallel.ts). The head of feature extraction trains on cached vectors in the fused kernel
    // (or TF.js), on one thread: a batch takes well under a millisecond to a few.
    if (opts.headTrainer !== 'tfjs') fused = fusedHead(built, config, optimizer, numClasses)
    const headEngine = built.base || built.onnxBase ? (fused ? 'fused' : 'tfjs') : undefined
    const threads = Math.min(trainThreads(backend), config.batchSize)
    if (!built.base && !built.onnxBase && threads > 1) {
      helper = await GradientWorker.start(trainable, {
        backend,
        numClasses,
        seed: config.seed,
        entry: opts.gradWorker,
        threads
      })
    }

    emit({
      type: 'started',
      runId,
      backend,
      threads: helper ? helper.threads : 1,
      totalEpochs: config.epochs,
      batchesPerEpoch: trainSource.batchesPerEpoch,
      trainImages: data.train.length,
      valImages: data.val.length
    })

    const dropouts = dropoutLayers(trainable)
    const applyStep = (grads: tf.NamedTensorMap): void => {
      if (epochNow < headOnlyEpochs) for (const name of headOnly) grads[name] = tf.zerosLike(grads[name])
      else if (scaled.size) for (const name of scaled) grads[name] = tf.mul(grads[name], factor)
      optimizer!.applyGradients(grads)
    }
    const step = async (b: Batch, index: number): Promise<{ loss: number; acc: number }> => {
      if (fused) return fused.head.step(b.x, b.y, b.size)
      if (!helper || b.size < 2) {
        reseedDropout(dropouts, config.seed, index)
        const [loss, acc] = tf.tidy(() => {
          const { x, y } = batchTensors(b, inputShape)
          const r = batchGradients(trainable, vars, x, y, numClasses)
          applyStep(r.grads)
          return [r.loss, r.acc]
        })
        const result = { loss: loss.dataSync()[0], acc: acc.dataSync()[0] }
        tf.dispose([loss, acc])
        return result
      }
      const r = await helper.gradients(trainable, vars, b, inputShape, numClasses, {
        layers: dropouts,
        seed: config.seed,
        step: index
      })
      const owned = Object.values(r.grads)
      tf.tidy(() => applyStep(r.grads))
      tf.dispose(owned)
      return { loss: r.loss, acc: r.acc }
    }

    let valEngine: 'onnx' | 'tfjs' | null = null
    const evaluate = async (source: BatchSource, epoch: number): Promise<{ loss: number; acc: number }> => {
      let lossSum = 0
      let correct = 0
      let n = 0
      // A frozen forward pass: onnxruntime on this epoch's weights when it can (the parity tests keep the two
      // engines equal), TF.js otherwise; both give probabilities, scored the same way.
      const forward = await makeForward(trainable, numClasses, opts.evaluateWith ?? 'auto')
      valEngine = forward.engine
      const len = inputShape.reduce((a, c) => a * c, 1)
      try {
        for await (const b of source.epoch(epoch, { signal: opts.signal })) {
          noteFailed(b.failed)
          if (b.size === 0) continue
          const p = await forward.run(b.x.subarray(0, b.size * len), b.size, inputShape)
          const s = scoreProbabilities(p, b.y, b.size, numClasses)
          lossSum += s.lossSum
          correct += s.correct
          n += b.size
          if (opts.signal?.aborted) throw new TrainCancelled()
        }
      } finally {
        await forward.close()
      }
      return n ? { loss: lossSum / n, acc: correct / n } : { loss: NaN, acc: NaN }
    }

    let stoppedEarly = false
    const patience = config.earlyStoppingPatience
    for (let epoch = record.epoch; epoch < config.epochs; epoch++) {
      epochNow = epoch
      const epochStart = Date.now()
      let lossSum = 0
      let accSum = 0
      let seen = 0
      let batchIndex = 0
      // Throughput counts the wait for data too: it is what the user gets, not the bare step speed.
      const recent: { n: number; t: number }[] = []
      let last = Date.now()
      for await (const b of trainSource.epoch(epoch, { signal: opts.signal })) {
        if (opts.signal?.aborted) throw new TrainCancelled()
        noteFailed(b.failed)
        if (b.size === 0) continue
        if (config.lrSchedule && config.lrSchedule !== 'constant') {
          const total = config.epochs * trainSource.batchesPerEpoch
          const rate = scheduledRate(config, epoch * trainSource.batchesPerEpoch + batchIndex, total)
          setRate(optimizer!, rate)
          fused?.head.setLearningRate(rate)
        }
        const r = await step(b, epoch * trainSource.batchesPerEpoch + batchIndex)
        if (!Number.isFinite(r.loss)) {
          throw new Error(`training diverged (loss ${r.loss}) at epoch ${epoch + 1}; lower the learning rate`)
        }
        lossSum += r.loss * b.size
        accSum += r.acc * b.size
        seen += b.size
        const now = Date.now()
        recent.push({ n: b.size, t: now - last })
        last = now
        if (recent.length > 10) recent.shift()
        const ms = recent.reduce((a, c) => a + c.t, 0)
        emit({
          type: 'batch',
          runId,
          epoch: epoch + 1,
          batch: ++batchIndex,
          batchesPerEpoch: trainSource.batchesPerEpoch,
          loss: r.loss,
          accuracy: r.acc,
          imagesPerSecond: (recent.reduce((a, c) => a + c.n, 0) * 1000) / Math.max(ms, 1)
        })
        if (opts.signal?.aborted) throw new TrainCancelled()
      }
      if (opts.signal?.aborted) throw new TrainCancelled()
      if (seen === 0) throw new Error('no training image could be read: see the failed list')
      if (fused) syncFusedHead(fused)
      if (valSource)
        emit({ type: 'phase', runId, phase: 'evaluating', done: 0, total: valSource.numExamples })
      const val = valSource ? await evaluate(valSource, epoch) : null
      const seconds = (Date.now() - epochStart) / 1000
      const entry: EpochRecord = {
        epoch: epoch + 1,
        trainLoss: lossSum / seen,
        trainAccuracy: accSum / seen,
        valLoss: val && Number.isFinite(val.loss) ? val.loss : null,
        valAccuracy: val && Number.isFinite(val.acc) ? val.acc : null,
        seconds
      }
      record.history.push(entry)
      record.epoch = epoch + 1
      epochsDone = epoch + 1
      record.seconds = secondsBefore + (Date.now() - started) / 1000

      // Early stopping on validation loss, keeping the best weights on disk.
      if (entry.valLoss !== null && (record.bestValLoss === null || entry.valLoss < record.bestValLoss)) {
        record.bestValLoss = entry.valLoss
        record.bestEpoch = epoch + 1
        record.sinceBest = 0
        if (patience > 0) await saveBest(opts.runDir, trainable)
      } else if (entry.valLoss !== null) record.sinceBest++
      record.savedAt = new Date().toISOString()
      emit({ type: 'phase', runId, phase: 'saving', done: 0, total: 1 })
      await saveCheckpoint(opts.runDir, record, trainable)

      const meanEpoch = record.history.reduce((a, h) => a + h.seconds, 0) / record.history.length
      emit({
        type: 'epoch',
        runId,
        epoch: epoch + 1,
        totalEpochs: config.epochs,
        trainLoss: entry.trainLoss,
        trainAccuracy: entry.trainAccuracy,
        valLoss: entry.valLoss,
        valAccuracy: entry.valAccuracy,
        etaSeconds: meanEpoch * (config.epochs - epoch - 1),
        seconds
      })
      if (patience > 0 && record.sinceBest >= patience) {
        stoppedEarly = true
        break
      }
    }

    // With early stopping on, the result is the epoch with the lowest validation loss.
    let valLoss = record.history.at(-1)?.valLoss ?? null
    let valAccuracy = record.history.at(-1)?.valAccuracy ?? null
    if (
      patience > 0 &&
      record.bestEpoch !== null &&
      record.bestEpoch !== record.epoch &&
      hasBest(opts.runDir)
    ) {
      await restoreBest(opts.runDir, trainable)
      const best = record.history.find((h) => h.epoch === record.bestEpoch)
      valLoss = best?.valLoss ?? valLoss
      valAccuracy = best?.valAccuracy ?? valAccuracy
    }
    disposeOptimizer(optimizer)
    optimizer = null
    fused?.head.dispose()
    fused = null
    await helper?.close()
    helper = null
    featureStore?.dispose()
    featureStore = null
    const seconds = secondsBefore + (Date.now() - started) / 1000
    const result: TrainResult = {
      status: 'completed',
      built,
      backend,
      epochsDone,
      history: record.history,
      valAccuracy,
      valLoss,
      stoppedEarly,
      seconds,
      failed: [...failed].map(([path, reason]) => ({ path, reason })),
      valEngine,
      ...(headEngine ? { headEngine } : {})
    }
    built = null
    return result
  } catch (err) {
    // Only the cancellation itself is a cancel: another error that happens to follow an abort (a disk that
    // filled, a bug) is the run's failure and must say so.
    const cancelled =
      err instanceof TrainCancelled || (opts.signal?.aborted && (err as Error)?.name === 'AbortError')
    if (cancelled) {
      return {
        status: 'cancelled',
        built: null,
        backend: backendInfo()?.name ?? 'cpu',
        epochsDone,
        history: safeHistory(opts.runDir),
        valAccuracy: null,
        valLoss: null,
        stoppedEarly: false,
        seconds: (Date.now() - started) / 1000,
        failed: []
      }
    }
    throw err instanceof Error ? err : new Error(String(err))
  } finally {
    await helper?.close()
    fused?.head.dispose()
    if (optimizer) disposeOptimizer(optimizer)
    featureStore?.dispose()
    built?.dispose()
  }
}
