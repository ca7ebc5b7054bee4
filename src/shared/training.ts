// Training, evaluation and export types shared by the engine, the CLI, the IPC contract and the UI.
// Plain serialisable data only.

/** The tutorial's four cases (data set large/small x task similar/different). */
export type Strategy = 'fine-tune' | 'retrain' | 'feature-extraction' | 'custom'

export const STRATEGIES: readonly Strategy[] = ['fine-tune', 'retrain', 'feature-extraction', 'custom']

/**
 * torchvision's ImageNet classifiers that the studio builds exactly as torchvision defines them
 * (src/main/ml/models/torchvision) and loads from PyTorch's `.pth` files.
 */
export const TORCHVISION_ARCHS = [
  'alexnet',
  'resnet18',
  'resnet50',
  'mobilenet_v2',
  'mobilenet_v3_large',
  'mobilenet_v3_small',
  'efficientnet_b0'
] as const
export type TorchvisionArch = (typeof TORCHVISION_ARCHS)[number]

/** Which TF.js backend runs training (and the fallback forward passes). */
export type BackendName = 'tfjs-node-gpu' | 'tfjs-node' | 'wasm' | 'cpu'

/**
 * How pixels become the model's input. Recorded with every model and applied identically in training,
 * evaluation, prediction and export.
 */
export interface Preprocessing {
  /** Square input side in pixels (227 for AlexNet, 32 for the compact CNN on GTSRB). */
  inputSize: number
  /** Channel order fed to the model; BVLC weights expect BGR. */
  channelOrder: 'RGB' | 'BGR'
  /**
   * `per-image`: subtract the image's own mean (the tutorial); `per-image-std`: per channel, subtract the
   * image's mean and divide by its standard deviation (contrast normalisation, for models trained here);
   * `dataset`: subtract `mean` per channel.
   */
  meanSubtraction: 'per-image' | 'per-image-std' | 'dataset' | 'none'
  /** Per-channel mean in the model's channel order, 0..255 scale, for `dataset`. */
  mean?: [number, number, number]
  /**
   * Per-channel standard deviation in the model's channel order, 0..255 scale, for `dataset`: the pixel is
   * divided by it after the mean is subtracted (torchvision's ImageNet normalisation). Absent = 1.
   */
  std?: [number, number, number]
  /** Multiply after mean subtraction (1 for BVLC AlexNet and after per-image-std, 1/64 for other models trained here). */
  scale: number
  /** Resize method from the stored image to `inputSize`. */
  resize: 'bilinear'
  /** Crop to the image's ROI before resizing, when the import recorded one and asked for cropping. */
  cropToRoi: boolean
  /**
   * Test-time augmentation for cropped signs: evaluation and prediction also look at the region of interest
   * zoomed in to this fraction of its side (about its centre) and average the two predictions. Used only
   * with `cropToRoi` and an image that has a region. Absent = one view. Training and validation see one view.
   */
  testTimeZoom?: number
}

/** Sign-friendly augmentation; all amplitudes are maxima of a uniform draw. */
export interface Augmentation {
  enabled: boolean
  /** Shift as a fraction of the side, e.g. 0.1. */
  shift: number
  /** Rotation in degrees, e.g. 10. */
  rotationDeg: number
  /** Scale change, e.g. 0.1 for 0.9..1.1. */
  scale: number
  /** Brightness change as a fraction, e.g. 0.2. */
  brightness: number
  /** Contrast change as a fraction, e.g. 0.2. */
  contrast: number
  /** Off by default: mirrored signs mean something else. */
  horizontalFlip: boolean
  /**
   * Mirrors the traffic signs that have a mirror image among the classes, by GTSRB sign name: symmetric
   * signs keep their label, twins (turn left / turn right) swap it. Others are never mirrored. Absent = off.
   */
  mirrorSigns?: boolean
}

/** Where pretrained weights come from. */
export type BaseModel =
  | { kind: 'none' }
  /** A `bvlc-alexnet.npy` file (or a small file of the same structure). */
  | { kind: 'bvlc-npy'; path: string }
  /** A model exported or checkpointed by this studio (folder with model.json). */
  | { kind: 'studio-model'; path: string }
  /** A completed run of the open project, by id; the backend resolves it to the run's model folder. */
  | { kind: 'run'; runId: number }
  /** A model of the hub's catalogue, by id; the backend resolves it to the file in the model cache. */
  | { kind: 'hub'; id: string }
  /** A PyTorch state dict of a torchvision architecture (`.pth`, zip or legacy format). */
  | { kind: 'torchvision-pth'; path: string; architecture: TorchvisionArch }
  /**
   * An ONNX image classifier used as a frozen feature extractor (feature extraction only): `output` names
   * the feature tensor; by default the input of the last Gemm/MatMul.
   */
  | { kind: 'onnx'; path: string; output?: string }

export interface ModelSpec {
  /**
   * `alexnet` (the tutorial's BVLC AlexNet) or `torchvision` (with `backbone`) for strategies 1-3,
   * `onnx` for feature extraction on an ONNX model, `compact` for strategy 4.
   */
  architecture: 'alexnet' | 'compact' | 'torchvision' | 'onnx'
  /** The torchvision architecture when `architecture` is `torchvision`. */
  backbone?: TorchvisionArch
  /** AlexNet width multiplier (1 = the real AlexNet); reduced sizes are for CPU tests and are stated. */
  width?: number
  /** AlexNet fc6/fc7 units (4096 = the real AlexNet). */
  fcUnits?: number
  dropout?: number
  /**
   * Compact CNN only: dropout on the flattened conv features, before the hidden dense layer (default 0 =
   * none). With `dropout` this gives the two dropouts of the usual small GTSRB nets.
   */
  flattenDropout?: number
  /**
   * Compact CNN only: batch normalisation after each conv (default true). Off for very short runs, where
   * BN's moving statistics have not caught up after a few dozen steps and inference suffers.
   */
  batchNorm?: boolean
}

export interface TrainConfig {
  strategy: Strategy
  base: BaseModel
  model: ModelSpec
  preprocessing: Preprocessing
  epochs: number
  batchSize: number
  optimizer: 'sgd-momentum' | 'adam'
  learningRate: number
  /**
   * How the rate changes over the run (per batch): `constant` (default when absent), `cosine` (from
   * learningRate down to ~0), `one-cycle` (linear warm-up from learningRate/10 over the first 20 % of the
   * steps, then cosine down to learningRate/1000). The schedule scales the whole rate, including the
   * pretrained-layer factor.
   */
  lrSchedule?: 'constant' | 'cosine' | 'one-cycle'
  /** Fine-tune: multiply the rate of pretrained layers by this (e.g. 0.1); 1 = same rate. */
  pretrainedRateFactor: number
  /** Stop when validation loss has not improved for this many epochs; 0 = off. */
  earlyStoppingPatience: number
  augmentation: Augmentation
  /** Sample batches so that every class is seen equally often. */
  classBalanced: boolean
  seed: number
}

/**
 * One training progress event; `runId` on every variant. `seq` is stamped by the training service as the
 * event goes out (increasing over all runs), so a client that fetched a run's history (`training:history`)
 * can continue with the live stream without gaps or duplicates: it skips events whose `seq` it has.
 */
export type TrainingEvent = TrainingEventBody & { seq?: number }

/** The variants of a TrainingEvent, before the service stamps its `seq`. */
export type TrainingEventBody =
  | {
      type: 'started'
      runId: number
      backend: BackendName
      /** Threads computing each train step: 2 when data-parallel training splits batches on wasm. */
      threads?: number
      totalEpochs: number
      batchesPerEpoch: number
      trainImages: number
      valImages: number
    }
  | {
      type: 'phase'
      runId: number
      /** `map`: the data review's embedding map (its layout epochs); training runs never send it. */
      phase: 'loading' | 'features' | 'training' | 'evaluating' | 'saving' | 'map'
      done: number
      total: number
    }
  | {
      type: 'batch'
      runId: number
      epoch: number
      batch: number
      batchesPerEpoch: number
      loss: number
      accuracy: number
      /** Training images per second over the recent batches. */
      imagesPerSecond: number
    }
  | {
      type: 'epoch'
      runId: number
      epoch: number
      totalEpochs: number
      trainLoss: number
      trainAccuracy: number
      valLoss: number | null
      valAccuracy: number | null
      /** Estimated seconds left for the run. */
      etaSeconds: number
      seconds: number
    }
  | { type: 'completed'; runId: number; valAccuracy: number | null; seconds: number; stoppedEarly: boolean }
  | {
      type: 'failed'
      runId: number
      /** English `message`, and the catalogue's `code`/`params` when it has them (src/shared/messages). */
      error: { name: string; message: string; code?: string; params?: Record<string, string | number> }
    }
  | { type: 'cancelled'; runId: number; epochsDone: number }

/**
 * What the engine reports while a run trains. A run's end (`completed | failed | cancelled`) is not among
 * them: the engine returns its result, and the training service announces the end once the run is saved.
 */
export type TrainingProgress = Extract<TrainingEventBody, { type: 'started' | 'phase' | 'batch' | 'epoch' }>

/**
 * What a run streamed so far, for a client that (re)connects mid-run: its events in `seq` order, of which
 * the service keeps the latest 'started' and 'phase', every 'epoch', the end, and the 'batch' events (every
 * one up to a few thousand, older ones thinned beyond; batches a resumed epoch redid are dropped).
 */
export interface TrainingHistory {
  runId: number
  /** The last `seq` the service had stamped when this was taken: live events up to it are in `events`. */
  seq: number
  /** Empty for a run this backend process did not run (only its stored per-epoch history exists). */
  events: TrainingEvent[]
}

export interface ClassMetrics {
  classId: number
  name: string
  precision: number
  recall: number
  support: number
}

export interface Misclassified {
  imageId: number | null
  path: string
  labelClassId: number
  predictedClassId: number
  confidence: number
}

export interface EvaluationResult {
  images: number
  accuracy: number
  top5Accuracy: number
  /** Order of rows/columns in `confusion`: class ids. */
  classIds: number[]
  /** confusion[i][j] = images labelled classIds[i] predicted as classIds[j]. */
  confusion: number[][]
  perClass: ClassMetrics[]
  misclassified: Misclassified[]
  /** Images that could not be read, with the reason. */
  failed: { path: string; reason: string }[]
}

export interface Prediction {
  path: string
  /** Most probable first; empty when the file could not be read. */
  top: { classId: number; key: string; name: string; probability: number }[]
  /** Why this file has no prediction (unreadable or not an image); absent on success. */
  error?: string
}

export type RunStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled'

export interface RunSummary {
  id: number
  strategy: Strategy
  status: RunStatus
  createdAt: string
  config: TrainConfig
  backend: BackendName | null
  /** Threads a train step ran on (2 when split over two on wasm); null before the run started. */
  threads: number | null
  epochsDone: number
  valAccuracy: number | null
  testAccuracy: number | null
  seconds: number | null
  /**
   * Whether the run completed with a trained model, so a later run can start from it as
   * `{ kind: 'run', runId }` (the backend finds the model folder; no server path reaches the UI).
   */
  hasModel: boolean
  /** Train-split images the run was started with; null for runs recorded before the counts were kept. */
  trainImages: number | null
  /** Validation-split images the run was started with; null like `trainImages`. */
  valImages: number | null
  /** Per-epoch history for the curves. */
  history: {
    epoch: number
    trainLoss: number
    trainAccuracy: number
    valLoss: number | null
    valAccuracy: number | null
  }[]
}

/** `metadata.json` of an export folder. */
export interface ModelMetadata {
  format: 'transfer-studio-model'
  formatVersion: 1
  appVersion: string
  createdAt: string
  strategy: Strategy
  base: BaseModel
  model: ModelSpec
  preprocessing: Preprocessing
  /** Output index -> class. */
  labels: { index: number; classId: number; key: string; name: string }[]
  metrics: { valAccuracy: number | null; testAccuracy: number | null }
  backend: BackendName | null
  /**
   * Feature extraction on an ONNX base: the folder holds the base (`base.onnx`, run up to `output`) and the
   * trained head (`head.onnx`, features in, probabilities out) instead of one model.
   */
  frozenBase?: { file: 'base.onnx'; head: 'head.onnx'; output: string; layout: 'NCHW' | 'NHWC' }
}
