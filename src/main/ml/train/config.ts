// TrainConfig defaults per strategy, the boundary check of a config that arrives from the UI or a file,
// and the tutorial's strategy recommendation. No TF.js here, so the main process can use it cheaply.
import { STRATEGIES, type BaseModel, type Strategy, type TrainConfig } from '../../../shared/training'
import { defaultPreprocessing, validatePreprocessing } from '../data/preprocess'

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
 * bench/ACCURACY.md measured on GTSRB (99.5 % in under 10 minutes on 2 cores): 16-32-64 filters, dense 256,
 * dropout 0.25, batch 64, Adam at 3e-3 on a one-cycle schedule, sign-friendly augmentation (brightness +-30 %), 21 epochs
 * (the one-cycle schedule ends at its lowest rate, so early stopping is off).
 */
export function defaultTrainConfig(strategy: Strategy, base: BaseModel = { kind: 'none' }): TrainConfig {
  const custom = strategy === 'custom'
  const fe = strategy === 'feature-extraction'
  const preprocessing = defaultPreprocessing(custom ? 'compact' : 'alexnet')
  // A fresh AlexNet is initialised for inputs of about unit scale; the BVLC weights expect 0..255.
  if (strategy === 'retrain') preprocessing.scale = 1 / 64
  return {
    strategy,
    base: strategy === 'retrain' || custom ? { kind: 'none' } : base,
    model: custom
      ? { architecture: 'compact', width: 0.5, fcUnits: 256, dropout: 0.25 }
      : { architecture: 'alexnet', width: 1, fcUnits: 4096, dropout: 0.5 },
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
      horizontalFlip: false
    },
    classBalanced: false,
    seed: 42
  }
}

/** Checks a config from outside (IPC, JSON); throws a message naming the field. Returns it unchanged. */
export function validateTrainConfig(value: unknown): TrainConfig {
  const fail = (field: string, what: string): never => {
    throw new Error(`training config: ${field} ${what}`)
  }
  if (!value || typeof value !== 'object') fail('', 'must be an object')
  const c = value as TrainConfig
  if (!STRATEGIES.includes(c.strategy)) fail('strategy', `must be one of ${STRATEGIES.join(', ')}`)
  const b = c.base as BaseModel | undefined
  if (!b || !['none', 'bvlc-npy', 'studio-model'].includes(b.kind))
    fail('base.kind', 'must be none, bvlc-npy or studio-model')
  if (
    b!.kind !== 'none' &&
    (typeof (b as { path?: unknown }).path !== 'string' || !(b as { path: string }).path)
  ) {
    fail('base.path', 'must name the weights file or model folder')
  }
  if ((c.strategy === 'fine-tune' || c.strategy === 'feature-extraction') && b!.kind === 'none') {
    fail('base', `is needed by ${c.strategy} (a bvlc-alexnet.npy file or a studio model)`)
  }
  const m = c.model
  if (!m || (m.architecture !== 'alexnet' && m.architecture !== 'compact'))
    fail('model.architecture', 'must be alexnet or compact')
  if ((c.strategy === 'custom') !== (m.architecture === 'compact'))
    fail('model.architecture', `does not fit strategy ${c.strategy}`)
  if (m.width !== undefined && !(m.width > 0 && m.width <= 4)) fail('model.width', 'must be in (0, 4]')
  if (m.fcUnits !== undefined && !(Number.isInteger(m.fcUnits) && m.fcUnits >= 1 && m.fcUnits <= 16384))
    fail('model.fcUnits', 'must be an integer in 1..16384')
  if (m.dropout !== undefined && !(m.dropout >= 0 && m.dropout < 1))
    fail('model.dropout', 'must be in [0, 1)')
  try {
    validatePreprocessing(c.preprocessing)
  } catch (err) {
    fail('preprocessing', `is invalid: ${(err as Error).message}`)
  }
  const int = (field: keyof TrainConfig, min: number, max: number): void => {
    const v = c[field] as number
    if (!Number.isInteger(v) || v < min || v > max) fail(field, `must be an integer in ${min}..${max}`)
  }
  int('epochs', 1, 10_000)
  int('batchSize', 1, 4096)
  int('earlyStoppingPatience', 0, 10_000)
  if (!Number.isInteger(c.seed)) fail('seed', 'must be an integer')
  if (c.optimizer !== 'adam' && c.optimizer !== 'sgd-momentum')
    fail('optimizer', 'must be adam or sgd-momentum')
  if (!(c.learningRate > 0 && c.learningRate < 10)) fail('learningRate', 'must be in (0, 10)')
  if (c.lrSchedule !== undefined && !['constant', 'cosine', 'one-cycle'].includes(c.lrSchedule))
    fail('lrSchedule', 'must be constant, cosine or one-cycle')
  if (!(c.pretrainedRateFactor >= 0 && c.pretrainedRateFactor <= 1))
    fail('pretrainedRateFactor', 'must be in [0, 1]')
  const a = c.augmentation
  if (!a || typeof a.enabled !== 'boolean') fail('augmentation.enabled', 'must be true or false')
  for (const k of ['shift', 'rotationDeg', 'scale', 'brightness', 'contrast'] as const) {
    if (!(Number.isFinite(a[k]) && a[k] >= 0)) fail(`augmentation.${k}`, 'must be a number >= 0')
  }
  if (typeof c.classBalanced !== 'boolean') fail('classBalanced', 'must be true or false')
  return c
}
