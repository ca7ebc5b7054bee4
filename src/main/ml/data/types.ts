// Internal engine types: how the data pipeline hands batches to the trainer and to evaluation.
// Kept free of TF.js so the data side can run (and be tested) without a backend.
import type { Augmentation, Preprocessing } from '../../../shared/training'

/** One labelled example as the engine sees it (from the project library or a folder). */
export interface Example {
  /** Library image id, or null for images from a folder outside the library. */
  imageId: number | null
  path: string
  /** SHA-1 of the file bytes (feature-cache key). */
  hash: string
  /** Output index (0..numClasses-1), or -1 when unknown (prediction). */
  label: number
  /** ROI in the stored file's pixels, when known. */
  roi: { x1: number; y1: number; x2: number; y2: number } | null
}

/** A batch of model inputs, NHWC float32, ready to become a tensor. */
export interface Batch {
  /** size * inputSize * inputSize * 3 floats, already preprocessed (and augmented for training). */
  x: Float32Array
  /** Output indices, length size. */
  y: Int32Array
  size: number
  /** The examples in this batch, in order. */
  examples: Example[]
  /** Examples of this batch that could not be read, with reasons (they are skipped, not fatal). */
  failed: { path: string; reason: string }[]
}

/** Streams batches from disk with prefetch; never holds the data set as float tensors. */
export interface BatchSource {
  readonly numExamples: number
  readonly batchSize: number
  readonly batchesPerEpoch: number
  /** Batches of one epoch (shuffled by seed and epoch when `shuffle`), decoded ahead of use. */
  epoch(epochIndex: number, opts?: { signal?: AbortSignal }): AsyncIterable<Batch>
}

export interface BatchSourceOptions {
  examples: Example[]
  preprocessing: Preprocessing
  batchSize: number
  /** Training: shuffle each epoch and apply augmentation; evaluation: neither. */
  shuffle: boolean
  augmentation?: Augmentation
  /**
   * With augmentation: per output index, the index of the class a mirrored image belongs to, or -1 (never
   * mirrored); half the images of a class with an entry are mirrored and relabelled (mirror.ts).
   */
  mirror?: Int32Array | null
  /** Draw examples so that each class is equally likely (training only). */
  classBalanced?: boolean
  seed: number
  /** Batches decoded ahead (default 2). */
  prefetch?: number
}

/** One output of a classifier: its index and the project class it stands for. */
export interface ClassLabel {
  /** Output index of the model. */
  index: number
  /** Project class id (or the folder position for folder data). */
  classId: number
  key: string
  name: string
}
