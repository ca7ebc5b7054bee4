// TrainConfig defaults per strategy, the check of a config that arrives from a file or the CLI (the contract's
// schema),
// and the tutorial's strategy recommendation. No TF.js here, so the main process can use it cheaply.
import type { BaseModel, ModelSpec, Strategy, TorchvisionArch, TrainConfig } from '../../../shared/training'
import { TrainConfigSchema } from '../../../shared/contract/training'
import { issuesLine } from '../../../shared/contract/issues'
import { defaultPreprocessing } from '../data/preprocess'

export interface RecommendInput {
  /** Labelled training images per class (the smallest class or the median; the caller decides). */
  imagesPerClass: number
  /** Whether the images look like the base model's domain (natural photos for ImageNet AlexNet). */
  similar: boolean
}

/**
 * The tutorial's table: large + similar -> fine-tune, large + different -> retrain, small + similar ->
 * feature extraction, small + different -> custom. "Large" means at least `threshold` images per class.
 */
export function recommendStrategy(
  input: RecommendInput,
  threshold = 500
): { strategy: Strategy; reason: string } {
  const large = input.imagesPerClass >= threshold
  const size = `${input.imagesPerClass} images per class is ${large ? 'large' : 'small'} (threshold ${threshold})`
  if (large && input.similar) return { strategy: 'fine-tune', reason: `${size} and the task is similar` }
  if (large) return { strategy: 'retrain', reason: `${size} and the task is different` }
  if (input.similar) return { strategy: 'feature-extraction', reason: `${size} and the task is similar` }
  return { strategy: 'custom', reason: `${size} and the task is different` }
}

/**
 * A sensible config for `strategy`: real AlexNet sizes (227 px, 4096 units); feature extraction trains only a
 * head, so more epochs, larger batches and a higher rate. The compact CNN (strategy 4) gets the recipe that
 * bench/ACCURACY.md measured on signs it never saw (track-grouped folds, bench/unseen.ts): 32-64-128 filters
 * (width 1; width 0.5 lost 0.6-0.9 points there), dense 256, dropout 0.25, batch 64, Adam at 3e-3 on a one-cycle
 * schedule, sign-friendly augmentation (brightness +-30 %) with the mirror twins of signs, 21 epochs (the
 * one-cycle schedule ends at its lowest rate, so early stopping is off), and a second, zoomed-in view of each
 * cropped sign at test time.
 */
/**
 * What a base is, when the caller knows more than its kind: a hub model's format, architecture and input
 * size (the backend reads them from the catalogue), or an ONNX model's input size (from its graph).
 */
export interface BaseInfo {
  format: 'bvlc-npy' | 'torchvision-pth' | 'onnx' | 'studio-model'
  architecture?: string
  inputSize?: number
}

/** The base's kind of network: `alexnet` (BVLC), a torchvision architecture, `onnx`, or null (none / a studio model). */
function backboneOf(base: BaseModel, info?: BaseInfo): TorchvisionArch | 'alexnet-bvlc' | 'onnx' | null {
  if (base.kind === 'torchvision-pth') return base.architecture
  if (base.kind === 'onnx') return 'onnx'
  if (base.kind === 'bvlc-npy') return 'alexnet-bvlc'
  if (base.kind === 'hub' && info) {
    if (info.format === 'onnx') return 'onnx'
    if (info.format === 'bvlc-npy') return 'alexnet-bvlc'
    if (info.format === 'torchvision-pth' && info.architecture) return info.architecture as TorchvisionArch
  }
  return null
}

export function defaultTrainConfig(
  strategy: Strategy,
  base: BaseModel = { kind: 'none' },
  info?: BaseInfo
): TrainConfig {
  const custom = strategy === 'custom'
  const fe = strategy === 'feature-extraction'
  const backbone = custom ? null : backboneOf(base, info)
  const torchvision = backbone !== null && backbone !== 'alexnet-bvlc'
  const preprocessing = defaultPreprocessing(
    custom ? 'compact' : backbone === 'onnx' ? 'onnx' : torchvision ? 'torchvision' : 'alexnet',
    { inputSize: info?.inputSize }
  )
  // A fresh AlexNet is initialised for inputs of about unit scale; the BVLC weights expect 0..255.
  if (strategy === 'retrain' && !torchvision) preprocessing.scale = 1 / 64
  // Cropped signs are also judged zoomed in by 10 % (bench/ACCURACY.md, unseen signs); only with cropToRoi.
  if (custom) preprocessing.testTimeZoom = 0.9
  const model: ModelSpec = custom
    ? { architecture: 'compact', width: 1, fcUnits: 256, dropout: 0.25 }
    : backbone === 'onnx'
      ? { architecture: 'onnx' }
      : torchvision
        ? { architecture: 'torchvision', backbone: backbone as TorchvisionArch }
        : { architecture: 'alexnet', width: 1, fcUnits: 4096, dropout: 0.5 }
  return {
    strategy,
    base: strategy === 'retrain' || custom ? { kind: 'none' } : base,
    model,
    preprocessing,
    epochs: fe ? 30 : custom ? 21 : 10,
    batchSize: fe || custom ? 64 : 32,
    optimizer: 'adam',
    learningRate: fe || custom ? 3e-3 : 1e-3,
    ...(custom ? { lrSchedule: 'one-cycle' as const } : {}),
    pretrainedRateFactor: 0.1,
    earlyStoppingPatience: custom ? 0 : 3,
    augmentation: {
      enabled: custom,
      shift: 0.1,
      rotationDeg: 10,
      scale: 0.1,
      brightness: custom ? 0.3 : 0.2,
      contrast: 0.2,
      horizontalFlip: false,
      // Only signs with a mirror image among the classes, found by their GTSRB names (data/mirror.ts).
      mirrorSigns: true
    },
    classBalanced: false,
    seed: 42
  }
}

/**
 * Checks a config from outside (a file, the CLI's options) against the IPC contract's schema, the same check
 * `training:start` makes; throws a message naming each bad field. Returns the parsed config.
 */
export function validateTrainConfig(value: unknown): TrainConfig {
  const result = TrainConfigSchema.safeParse(value)
  if (!result.success) throw new Error(`training config: ${issuesLine(result.error.issues, value)}`)
  return result.data
}
