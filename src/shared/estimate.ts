// Pure helpers around a run's size and duration that both sides use: sizing AlexNet's defaults to the images
// and the backend (the backend's `training:defaults`), the reduced setting a long-run warning offers with one
// click (the wizard), and the remaining time of a live run from its measured batches (the dashboard).
import type { BackendName, TrainConfig } from './training'

/** A deep copy of plain data (also of a Vue reactive proxy, which structuredClone refuses). */
function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T
}

/** Past this many seconds an estimate is worth a warning before Start. */
export const LONG_RUN_SECONDS = 3600

/**
 * AlexNet input sides that leave a whole pool5 map (1x1 at 67, 2x2 at 99, ... 6x6 at 227) with its SAME
 * stride-4 conv1 and 3/2 pools: a side between two of these would only blur the image for nothing.
 */
export const ALEXNET_SIDES = [67, 99, 131, 163, 195, 227] as const

/** AlexNet's reduced size: half the filters, 1024 fc units (about 1/4 of the work at the same input side). */
export const REDUCED_ALEXNET = { width: 0.5, fcUnits: 1024 } as const

/** The sides an image presents to training: its ROI when it is cropped to it, else the whole image. */
export interface ImageSize {
  width: number
  height: number
  roi?: { x1: number; y1: number; x2: number; y2: number } | null
  cropToRoi?: boolean
}

/** Median of the images' longer sides in pixels (ROI when cropped), or null for none. */
export function medianSide(images: readonly ImageSize[]): number | null {
  const sides = images
    .map((i) =>
      i.cropToRoi && i.roi ? Math.max(i.roi.x2 - i.roi.x1, i.roi.y2 - i.roi.y1) : Math.max(i.width, i.height)
    )
    .filter((s) => s > 0)
    .sort((a, b) => a - b)
  if (sides.length === 0) return null
  return sides[Math.floor(sides.length / 2)]
}

/** The smallest AlexNet side that does not shrink an image of `side` pixels (227 above 195). */
export function alexnetSideFor(side: number): number {
  return ALEXNET_SIDES.find((s) => s >= side) ?? 227
}

/**
 * An AlexNet trained from random weights (retrain) sized to the data and the machine: the input side to the
 * images' median (GTSRB's 30-60 px signs get 67 px, not an upscale to 227), and the reduced width unless the
 * backend is a GPU. Configs with pretrained weights keep the shapes those weights fix.
 */
export function sizeToData(
  config: TrainConfig,
  data: { medianSide: number | null; backend: BackendName | null }
): TrainConfig {
  if (config.model.architecture !== 'alexnet' || config.base.kind !== 'none') return config
  const out = clone(config)
  if (data.medianSide !== null)
    out.preprocessing.inputSize = Math.min(out.preprocessing.inputSize, alexnetSideFor(data.medianSide))
  if (data.backend !== 'tfjs-node-gpu') out.model = { ...out.model, ...REDUCED_ALEXNET }
  return out
}

/**
 * The smaller setting a long-run warning offers, or null when there is none to offer: AlexNet from random
 * weights gets the reduced width and at most 67 px; a torchvision network (which pools globally, so any side
 * works) gets half its input side, not under 64 px. A BVLC base fixes AlexNet's shapes, so it has none.
 */
export function reducedConfig(config: TrainConfig): TrainConfig | null {
  const out = clone(config)
  const m = config.model
  if (m.architecture === 'alexnet' && config.base.kind === 'none') {
    const side = Math.min(config.preprocessing.inputSize, ALEXNET_SIDES[0])
    const already =
      (m.width ?? 1) <= REDUCED_ALEXNET.width &&
      (m.fcUnits ?? 4096) <= REDUCED_ALEXNET.fcUnits &&
      config.preprocessing.inputSize <= side
    if (already) return null
    out.model = {
      ...m,
      width: Math.min(m.width ?? 1, REDUCED_ALEXNET.width),
      fcUnits: Math.min(m.fcUnits ?? 4096, REDUCED_ALEXNET.fcUnits)
    }
    out.preprocessing.inputSize = side
    return out
  }
  if (m.architecture === 'torchvision' && m.backbone !== 'alexnet') {
    const side = Math.max(64, Math.round(config.preprocessing.inputSize / 2 / 16) * 16)
    if (side >= config.preprocessing.inputSize) return null
    out.preprocessing.inputSize = side
    return out
  }
  return null
}

/** What the remaining time of a live run is computed from (the dashboard's live state has these). */
export interface RunProgress {
  totalEpochs: number
  /** The epoch of the last batch event (1-based), or of the last finished epoch. */
  epoch: number
  batch: number
  batchesPerEpoch: number
  trainImages: number
  valImages: number
  /** Training images per second over the recent batches (measured by the trainer). */
  imagesPerSecond: number
  /** The trainer's estimate at the end of the last epoch (mean epoch time x epochs left), or null. */
  etaSeconds: number | null
  /** Epochs finished so far. */
  history: readonly { epoch: number }[]
  /** A run that is not training (cancelled, failed, done) has no time left to show. */
  status?: 'starting' | 'running' | 'completed' | 'failed' | 'cancelled'
}

/**
 * Seconds left in a live run, calibrated on what it measured: after an epoch, its mean epoch time less the
 * part of the current epoch already done; before the first epoch ends, the measured batch rate over the
 * images left (validation is forward only, about a third of a training image's work). Null when nothing has
 * been measured yet.
 */
export function remainingSeconds(p: RunProgress): number | null {
  if (p.status === 'completed') return 0
  if (p.status === 'cancelled' || p.status === 'failed') return null
  const done = p.history.reduce((m, h) => Math.max(m, h.epoch), 0)
  const fraction = p.epoch > done && p.batchesPerEpoch > 0 ? Math.min(1, p.batch / p.batchesPerEpoch) : 0
  const epochsLeft = Math.max(0, p.totalEpochs - done)
  if (p.etaSeconds !== null && done > 0) {
    if (epochsLeft === 0) return 0
    const meanEpoch = p.etaSeconds / epochsLeft
    return Math.max(0, p.etaSeconds - meanEpoch * fraction)
  }
  if (p.imagesPerSecond > 0 && p.batchesPerEpoch > 0 && p.trainImages > 0) {
    const trainLeft = p.trainImages * Math.max(0, epochsLeft - fraction)
    const valLeft = (p.valImages / 3) * epochsLeft
    return (trainLeft + valLeft) / p.imagesPerSecond
  }
  return null
}
