// Schemas of the training records that cross the IPC boundary or come back from disk: TrainConfig and its
// parts (base model, model spec, preprocessing, augmentation). The declared types in ../training.ts stay the
// documented source; each schema is checked at compile time to describe exactly that type, so the two cannot
// drift. No coercion ("0.003" is not a number, `true` is not a width), unknown keys are refused, and every
// number has a range: the bounds the engine accepted before these schemas, tightened only where none existed.
import { z } from 'zod'
import { MAX_ID_DIGITS } from '../limits'
import {
  TORCHVISION_ARCHS,
  type Augmentation,
  type BaseModel,
  type ModelSpec,
  type Preprocessing,
  type Strategy,
  type TrainConfig
} from '../training'

/** Compile-time proof that a schema's output is exactly the declared type (both ways assignable). */
export type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
export type Assert<T extends true> = T

/** Longest file path accepted anywhere in the contract (PATH_MAX on Linux). */
export const MAX_PATH = 4096

/** Database ids (images, classes, runs, imports) start at 1, with at most MAX_ID_DIGITS digits (one frame). */
const MAX_ID = 10 ** MAX_ID_DIGITS - 1
export const Id = z.int().min(1).max(MAX_ID)

/**
 * Up to `max` ids, checked in one plain loop. A schema per element costs about 100 ms for the million ids
 * of a select-all label change, all of it on the backend's event loop; this loop takes a few.
 */
export function idList(max: number) {
  return z.custom<number[]>().superRefine((v, ctx) => {
    if (!Array.isArray(v)) {
      ctx.addIssue({ code: 'invalid_type', expected: 'array', input: v })
      return
    }
    if (v.length > max) {
      ctx.addIssue({ code: 'too_big', origin: 'array', maximum: max, inclusive: true, input: v })
      return
    }
    for (let i = 0; i < v.length; i++) {
      const id: unknown = v[i]
      if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1 || id > MAX_ID) {
        ctx.addIssue({
          code: 'custom',
          path: [i],
          message: `must be an id (an integer >= 1), got ${describe(id)}`,
          input: v
        })
        return
      }
    }
  })
}

function describe(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v.slice(0, 40)) : String(v)
}

/** A path on the backend's machine: not blank, at most MAX_PATH characters; kept as sent (no trimming). */
export const PathString = z
  .string()
  .max(MAX_PATH)
  .refine((s) => s.trim() !== '', { message: 'must not be empty' })

/** 32-bit unsigned seeds (the seeded PRNG works on 32 bits). */
export const Seed = z
  .int()
  .min(0)
  .max(2 ** 32 - 1)

export const StrategySchema = z.enum(['fine-tune', 'retrain', 'feature-extraction', 'custom'])

export const TorchvisionArchSchema = z.enum(TORCHVISION_ARCHS)

/** A catalogue id: lowercase letters, digits, `.`, `_`, `-` (the hub's catalogue schema has the same rule). */
export const HubId = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, { message: 'must be a model id' })

/** A standard deviation on the 0..255 scale: positive, finite. */
const StdValue = z.number().gt(0).max(255)

export const BaseModelSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('none') }),
  /** A `bvlc-alexnet.npy` file (or a small file of the same structure). */
  z.strictObject({ kind: z.literal('bvlc-npy'), path: PathString }),
  /** A model folder exported or checkpointed by this studio. */
  z.strictObject({ kind: z.literal('studio-model'), path: PathString }),
  /** A completed run of the open project; the backend resolves it to the run's model folder. */
  z.strictObject({ kind: z.literal('run'), runId: Id }),
  /** A model of the hub's catalogue, by id. */
  z.strictObject({ kind: z.literal('hub'), id: HubId }),
  /** A PyTorch state dict of a torchvision architecture. */
  z.strictObject({
    kind: z.literal('torchvision-pth'),
    path: PathString,
    architecture: TorchvisionArchSchema
  }),
  /** An ONNX image classifier as a frozen feature extractor; `output` names the feature tensor. */
  z.strictObject({ kind: z.literal('onnx'), path: PathString, output: z.string().min(1).max(256).optional() })
])

/** Dropout rates: 1 would drop everything. */
const Rate = z.number().min(0).lt(1)

export const ModelSpecSchema = z.strictObject({
  architecture: z.enum(['alexnet', 'compact', 'torchvision', 'onnx']),
  backbone: TorchvisionArchSchema.optional(),
  width: z.number().gt(0).lte(4).optional(),
  fcUnits: z.int().min(1).max(16_384).optional(),
  dropout: Rate.optional(),
  flattenDropout: Rate.optional(),
  batchNorm: z.boolean().optional()
})

export const PreprocessingSchema = z
  .strictObject({
    inputSize: z.int().min(1).max(4096),
    channelOrder: z.enum(['RGB', 'BGR']),
    meanSubtraction: z.enum(['per-image', 'per-image-std', 'dataset', 'none']),
    /** Pixel means, 0..255 scale. */
    mean: z
      .tuple([z.number().min(0).max(255), z.number().min(0).max(255), z.number().min(0).max(255)])
      .optional(),
    /** Pixel standard deviations, 0..255 scale (torchvision's normalisation). */
    std: z.tuple([StdValue, StdValue, StdValue]).optional(),
    // Non-zero as before; the magnitude bound only keeps inputs finite in float32 (1/64 and 1 are in use).
    scale: z
      .number()
      .min(-1000)
      .max(1000)
      .refine((s) => s !== 0, { message: 'must not be 0' }),
    resize: z.literal('bilinear'),
    cropToRoi: z.boolean(),
    // A zoom in, not out: the second view must stay inside the region.
    testTimeZoom: z.number().min(0.5).lt(1).optional()
  })
  .superRefine((p, ctx) => {
    if (p.meanSubtraction === 'dataset' && !p.mean)
      ctx.addIssue({
        code: 'custom',
        path: ['mean'],
        message: 'must be three numbers when meanSubtraction is "dataset"'
      })
  })

// Amplitudes are maxima of a uniform draw around "no change": a scale or brightness change of 1 or more
// could reach zero, a shift past half the side moves the sign out of the picture.
export const AugmentationSchema = z.strictObject({
  enabled: z.boolean(),
  shift: z.number().min(0).max(0.5),
  rotationDeg: z.number().min(0).max(180),
  scale: z.number().min(0).max(0.9),
  brightness: z.number().min(0).max(1),
  contrast: z.number().min(0).max(1),
  horizontalFlip: z.boolean(),
  mirrorSigns: z.boolean().optional()
})

const NEEDS_BASE: readonly Strategy[] = ['fine-tune', 'feature-extraction']

export const TrainConfigSchema = z
  .strictObject({
    strategy: StrategySchema,
    base: BaseModelSchema,
    model: ModelSpecSchema,
    preprocessing: PreprocessingSchema,
    epochs: z.int().min(1).max(10_000),
    batchSize: z.int().min(1).max(4096),
    optimizer: z.enum(['sgd-momentum', 'adam']),
    learningRate: z.number().gt(0).lt(10),
    lrSchedule: z.enum(['constant', 'cosine', 'one-cycle']).optional(),
    pretrainedRateFactor: z.number().min(0).max(1),
    earlyStoppingPatience: z.int().min(0).max(10_000),
    augmentation: AugmentationSchema,
    classBalanced: z.boolean(),
    seed: Seed
  })
  .superRefine((c, ctx) => {
    if (NEEDS_BASE.includes(c.strategy) && c.base.kind === 'none') {
      ctx.addIssue({
        code: 'custom',
        path: ['base'],
        message: `is needed by ${c.strategy} (a hub model, a bvlc-alexnet.npy or .pth file, a studio model or a completed run)`
      })
    }
    if ((c.strategy === 'custom') !== (c.model.architecture === 'compact')) {
      ctx.addIssue({
        code: 'custom',
        path: ['model', 'architecture'],
        message: `does not fit strategy ${c.strategy}`
      })
    }
    if ((c.model.architecture === 'torchvision') !== (c.model.backbone !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['model', 'backbone'],
        message: 'names the torchvision architecture, and only for architecture "torchvision"'
      })
    }
    if (c.model.architecture === 'onnx' && c.strategy !== 'feature-extraction') {
      ctx.addIssue({
        code: 'custom',
        path: ['model', 'architecture'],
        message: 'an ONNX model is a frozen feature extractor: only for feature-extraction'
      })
    }
    if (c.base.kind === 'onnx' && c.strategy === 'fine-tune') {
      ctx.addIssue({
        code: 'custom',
        path: ['base'],
        message: 'an ONNX model cannot be fine-tuned; use it for feature-extraction'
      })
    }
  })

export type SchemasMatchTypes = [
  Assert<Same<z.output<typeof StrategySchema>, Strategy>>,
  Assert<Same<z.output<typeof BaseModelSchema>, BaseModel>>,
  Assert<Same<z.output<typeof ModelSpecSchema>, ModelSpec>>,
  Assert<Same<z.output<typeof PreprocessingSchema>, Preprocessing>>,
  Assert<Same<z.output<typeof AugmentationSchema>, Augmentation>>,
  Assert<Same<z.output<typeof TrainConfigSchema>, TrainConfig>>
]
