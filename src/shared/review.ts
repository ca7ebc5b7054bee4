// The data review's slice of the IPC contract (issue 16): one review of the open project finds images whose
// label is probably wrong (confident learning on cross-validated probabilities), near-identical pairs (leaks
// when they straddle splits), outliers, and the library's health. Merged into ./ipc.ts; the arguments'
// schemas are in ./contract/channels.ts. Implemented by src/main/review (ReviewService) on the training
// worker, so the backend's event loop stays free while it runs.
import type { Split } from './types'

/** One image as a review names it. */
export interface ReviewImage {
  imageId: number
  path: string
  split: Split | null
}

/** An image whose label is probably wrong, with the class the out-of-sample model suggests. */
export interface LabelIssue extends ReviewImage {
  /** The class it is labelled with now. */
  classId: number
  label: string
  /** The class the cross-validated model puts it in (above that class's threshold). */
  suggestedClassId: number
  suggested: string
  /** 0..1, higher = more likely wrong: 1 - the out-of-sample probability of the given label. */
  score: number
  /** Out-of-sample probability of the given label and of the suggested class. */
  labelProbability: number
  suggestedProbability: number
}

/** Two near-identical images; `crossSplit` when they sit in different splits (a leak). */
export interface NearDuplicate {
  a: ReviewImage
  b: ReviewImage
  /** Cosine similarity of their embeddings, 0..1. */
  similarity: number
  crossSplit: boolean
}

/** An image far from every class in embedding space (not a sign, a corrupt crop, ...). */
export interface Outlier extends ReviewImage {
  classId: number | null
  /**
   * Geometric mean of (distance to the nearest class centre over that class's median) and (mean distance to
   * its nearest images over the median image's): 1 is typical; the report lists those from 1.5.
   */
  score: number
}

/** The library's health check. */
export interface ReviewHealth {
  images: number
  labelled: number
  unlabelled: number
  /** Per class: images in each split (`none`: not assigned yet). */
  perClass: {
    classId: number
    name: string
    total: number
    train: number
    val: number
    test: number
    none: number
  }[]
  /** Largest class over smallest (labelled classes with at least one image); null with fewer than 2 classes. */
  imbalanceRatio: number | null
  /** Classes with too few images for the current split (a split with none of them, or below `minPerClass`). */
  smallClasses: { classId: number; name: string; total: number; reason: 'few-images' | 'missing-split' }[]
  /** The minimum images per class the check asks for. */
  minPerClass: number
  /** Image sides in pixels: smallest, median and largest of width and of height. */
  sizes: {
    width: { min: number; median: number; max: number }
    height: { min: number; median: number; max: number }
  }
  /** Images whose width/height ratio is far from the median (above 2x either way). */
  oddAspect: number
}

/** How a review was made, for the user and the bench. */
export interface ReviewMethod {
  /** `compact-cnn`: the custom strategy's CNN, cross-validated; `base-features`: a head on the base's features. */
  engine: 'compact-cnn' | 'base-features'
  /** The base model's file or hub id, or null. */
  base: string | null
  folds: number
  epochs: number
  /** Share of images whose out-of-sample prediction (the blend below) equals their label. */
  cvAccuracy: number
  /** The same for the fold models alone. */
  modelAccuracy: number
  /** Share of the neighbours' votes in the probabilities the label issues are ranked on (the rest: the models'). */
  neighbourWeight: number
  /** What the near-duplicates and outliers are measured on. */
  embedding: 'pixels' | 'base-features'
  embeddingDim: number
  /** The nearest-neighbour search: `usearch` (HNSW) or `exact` (when the native library cannot load). */
  search: 'usearch' | 'exact'
  /** Similarity from which two images count as near-duplicates. */
  duplicateThreshold: number
}

export interface ReviewReport {
  reviewId: number
  /** ISO time the review finished. */
  createdAt: string
  seconds: number
  method: ReviewMethod
  /** Most likely wrong first; images whose label a user kept (or whose suggestion they took) are left out. */
  labelIssues: LabelIssue[]
  /** Most similar first. */
  nearDuplicates: NearDuplicate[]
  crossSplitPairs: number
  /** Farthest first. */
  outliers: Outlier[]
  health: ReviewHealth
  /** Images that could not be read, with why (in English). */
  failed: { path: string; reason: string }[]
  /** The embedding map: every image read, in 2-D (UMAP, or PCA as the fallback; see `mapMethod`). */
  map?: ReviewMapPoint[]
  /**
   * How the map was drawn: `umap` (umap-js over the embedding's neighbour graph, seeded), or `pca` (the first
   * two principal components) when UMAP could not be used; `mapFallback` says why.
   */
  mapMethod?: 'umap' | 'pca'
  /** Why PCA: `few-images` (fewer than 16 images read), `failed` (UMAP raised an error). Null with UMAP. */
  mapFallback?: 'few-images' | 'failed' | null
  /**
   * True when the report was read back from the project's review file (`<project>.review/last.json`): made in
   * an earlier session, with the images removed from the library since left out. Absent for this session's.
   */
  restored?: boolean
  /** Images UMAP was fitted on: all of them up to 10,000, else a seeded sample, the rest placed beside their nearest fitted image. */
  mapFitted?: number
}

/** One image on the embedding map. */
export interface ReviewMapPoint {
  imageId: number
  path: string
  /** Its label when the review ran (null: unlabelled). */
  classId: number | null
  /** Coordinates on the map (UMAP's or the principal components'; unitless). */
  x: number
  y: number
}

/** What a user decided about one label issue in the queue. */
export type ReviewDecision = 'accept' | 'keep'

export interface ReviewResults {
  /**
   * Run a review of the open project; progress arrives as `review-progress` events; resolves with the
   * report (rejects with a `review.cancelled` error when cancelled). One review at a time.
   */
  'review:start': ReviewReport
  /** Stop the running review. */
  'review:cancel': { cancelled: boolean }
  /**
   * The last finished review of the open project, with decisions applied and removed images left out: this
   * session's, else the one saved beside the project (`restored`); null when none.
   */
  'review:result': ReviewReport | null
  /**
   * Decide about a label issue: `accept` relabels the image to `classId` through the library's undoable
   * setLabel; `keep` leaves it. Both are remembered, so the image is not suggested again while its label stays.
   */
  'review:decide': { imageId: number; decision: ReviewDecision; classId: number | null }
}

export const REVIEW_CHANNEL_NAMES: Record<keyof ReviewResults, true> = {
  'review:start': true,
  'review:cancel': true,
  'review:result': true,
  'review:decide': true
}

/** A running review's progress (a few per second at most), then one last event with its outcome. */
export interface ReviewProgressEvent {
  reviewId: number
  state: 'running' | 'done' | 'failed' | 'cancelled'
  /**
   * `embedding`: reading pixels for duplicates; `features`: the base's features; `training`: the fold models
   * (done/total in batches over all folds); `predicting`: the held-out folds; `duplicates`: the neighbour search;
   * `map`: the embedding map's UMAP layout (done/total in epochs).
   */
  stage: 'embedding' | 'features' | 'training' | 'predicting' | 'duplicates' | 'map' | 'finished'
  done: number
  total: number
  /** 1-based fold being trained, with `training` and `predicting`. */
  fold?: number
  folds?: number
  /** Why it failed (state `failed`), in English, and as a catalogue key. */
  error?: string
  errorCode?: string
  errorParams?: Record<string, string | number>
}

export interface ReviewEvents {
  'review-progress': ReviewProgressEvent
}

export const REVIEW_EVENT_NAMES: Record<keyof ReviewEvents, true> = { 'review-progress': true }
