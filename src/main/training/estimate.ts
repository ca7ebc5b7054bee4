// Estimating a run's duration (`training:estimate`) from the cost of its model (TF-free arithmetic in
// ml/models/shapes.ts) and the rate measured on this project's last completed run, else an assumed rate
// per backend. It runs on the backend's event loop, so it never loads TF.js. Also remembers the TF.js
// backend the last run reported, for `system:info`.
import { statSync } from 'node:fs'
import type { BackendName, TrainConfig } from '../../shared/training'
import { type ModelCost, modelCost, threadSpeedup, trainThreads } from '../ml'
import type { Results } from '../../shared/ipc'
import type { ProjectService } from '../project/projectService'
import type { TrainingService } from './trainingService'

/**
 * Multiply-accumulates per second assumed per backend before any run has been measured in this project.
 * wasm: per training thread, measured by test/main/training/estimateCalibration.test.ts on the shared 2-core
 * development machine (the compact CNN at width 1 and a reduced AlexNet on real GTSRB images). With the
 * studio's own SIMD kernels and the gradient workers, those runs went about 5x faster than the 5 G/s assumed
 * before (20-25 G/s on two threads); see threadSpeedup (ml/train/threads.ts) for more threads. The others are not measured here
 * and are scaled by an order of magnitude per step (pure-JS cpu slower, native tfjs-node and CUDA faster).
 * The estimate says it is rough until a run of the project has been measured.
 */
export const ASSUMED_MACS_PER_SECOND: Record<BackendName, number> = {
  'tfjs-node-gpu': 2e11,
  'tfjs-node': 2e10,
  wasm: 1.25e10,
  cpu: 2e8
}

/**
 * Big per-image models run at fewer multiply-adds per second (memory-bound convs at 227 px): measured with
 * the estimateCalibration test's set-up, the full AlexNet at 227 px (0.75 G per image) trained at about 2.3 G/s
 * where the compact CNN and the reduced AlexNet (10-16 M per image) reached 4-6 G/s. The assumed rate is
 * scaled by (MACs per image / 50 M)^-0.28 above 50 M, down to 0.45x, which fits both ends.
 */
export function sizeEfficiency(forwardMacs: number): number {
  if (!(forwardMacs > 5e7)) return 1
  return Math.max(0.45, (forwardMacs / 5e7) ** -0.28)
}

/** Seconds every run spends besides its batches: the worker's start, the backend, reading the images. */
export const RUN_OVERHEAD_SECONDS = 1

/** The size of an ONNX base's file (its only known size here), or undefined. */
function onnxBytes(config: TrainConfig): number | undefined {
  if (config.base.kind !== 'onnx') return undefined
  try {
    return statSync(config.base.path).size
  } catch {
    return undefined
  }
}

/** Training work of a run in multiply-accumulates: backward ~ 2x forward, validation forward only. */
export function runWork(
  config: TrainConfig,
  cost: ModelCost,
  counts: { train: number; val: number }
): number {
  if (config.strategy === 'feature-extraction') {
    // The frozen base runs once per image (features are cached); only the head trains per epoch.
    return cost.base * (counts.train + counts.val) + config.epochs * 3 * cost.head * counts.train
  }
  return config.epochs * (3 * cost.forward * counts.train + cost.forward * counts.val)
}

/** The image counts a run trained on, from its row (runs recorded before the counts were kept have none). */
function runCounts(run: object): { train: number; val: number } | null {
  const r = run as { trainImages?: unknown; valImages?: unknown }
  return typeof r.trainImages === 'number' && typeof r.valImages === 'number'
    ? { train: r.trainImages, val: r.valImages }
    : null
}

export class EstimateService {
  /** The backend the last run of this process reported. */
  private lastBackend: BackendName | null = null
  private readonly off: () => void

  constructor(
    private readonly projects: ProjectService,
    private readonly training: TrainingService
  ) {
    this.off = training.onEvent((e) => {
      if (e.type === 'started') this.lastBackend = e.backend
    })
  }

  /** The TF.js backend of the last run (this process's worker, else the newest recorded run), or null. */
  backend(): BackendName | null {
    if (this.lastBackend) return this.lastBackend
    if (!this.projects.current()) return null
    return this.training.list().find((r) => r.backend)?.backend ?? null
  }

  /** Seconds a run with `config` would take here, from the last measured run of this project or the table. */
  async estimate(config: TrainConfig): Promise<Results['training:estimate']> {
    const open = this.projects.require()
    const train = open.repo.trainingImages({ split: 'train' }).filter((i) => i.classId !== null)
    const val = open.repo.trainingImages({ split: 'val' }).filter((i) => i.classId !== null)
    const numClasses = Math.max(2, new Set(train.map((i) => i.classId)).size)
    const counts = { train: train.length, val: val.length }
    const cost = modelCost(config.model, config.preprocessing.inputSize, numClasses, onnxBytes(config))
    const work = runWork(config, cost, counts)

    let rate: number | null = null
    let basis = ''
    let measuredRun: number | null = null
    let overhead = RUN_OVERHEAD_SECONDS
    let backend: BackendName | null = null
    const measured = this.training
      .list()
      .find((r) => r.status === 'completed' && r.seconds && r.seconds > 0 && r.epochsDone > 0)
    if (measured) {
      const c = runCounts(measured) ?? counts
      const cfg = { ...measured.config, epochs: measured.epochsDone }
      const mCost = modelCost(cfg.model, cfg.preprocessing.inputSize, numClasses, onnxBytes(cfg))
      // The same start-up is taken off the measured run as is added back below (at most half of a short run).
      overhead = Math.min(RUN_OVERHEAD_SECONDS, (measured.seconds as number) / 2)
      const busy = (measured.seconds as number) - overhead
      rate = runWork(cfg, mCost, c) / busy
      measuredRun = measured.id
      backend = measured.backend ?? null
      basis =
        `Measured on run ${measured.id} (${measured.backend ?? 'unknown backend'}): ` +
        `${(rate / 1e9).toFixed(2)} G multiply-adds/s, times this config's ${(work / 1e9).toFixed(1)} G ` +
        `for ${counts.train} training images x ${config.epochs} epochs.`
    }
    if (!rate || !Number.isFinite(rate)) {
      measuredRun = null
      overhead = RUN_OVERHEAD_SECONDS
      backend = this.backend() ?? 'wasm'
      rate =
        ASSUMED_MACS_PER_SECOND[backend] *
        threadSpeedup(Math.min(trainThreads(backend), config.batchSize)) *
        sizeEfficiency(cost.forward)
      basis =
        `No run measured in this project yet: assumes ${(rate / 1e9).toFixed(1)} G multiply-adds/s on ` +
        `${backend}, times this config's ${(work / 1e9).toFixed(1)} G for ${counts.train} training images ` +
        `x ${config.epochs} epochs.`
    }
    // Hundredths of a second: tiny test runs take under a second, and the estimate must still scale with them.
    const seconds = overhead + work / rate
    return {
      seconds: Math.max(0.01, Math.round(seconds * 100) / 100),
      trainImages: counts.train,
      basis,
      measuredRun,
      backend,
      // A rate assumed for the backend, or a model whose network is not read (ONNX): rough.
      rough: measuredRun === null || config.model.architecture === 'onnx'
    }
  }

  dispose(): void {
    this.off()
  }
}
