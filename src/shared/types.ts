// Domain types shared by the main process, the preload, the renderer and the CLI.
// Everything here is plain, serialisable data: no class instances, tensors or handles.

/** Which subset of the data an image belongs to; `null` means not assigned yet. */
export type Split = 'train' | 'val' | 'test'

/** A project is one SQLite file plus a thumbnail cache folder beside it. */
export interface ProjectInfo {
  /** Absolute path of the `.tsproj` SQLite file. */
  path: string
  /** Display name (file name without extension). */
  name: string
  /** Schema version after migrations. */
  schemaVersion: number
  /** Absolute path of the thumbnail cache folder. */
  thumbnailDir: string
  /** Opened read-only (the file or its disk cannot be written): browsing works, changes are refused. */
  readOnly: boolean
  /**
   * Identity of this project file for media URLs (hex, from its device, inode and creation time): image ids
   * restart at 1 in every project, so a cached `/media/thumb/1` of one project must never stand for another's.
   */
  mediaKey: string
}

export interface RecentProject {
  path: string
  name: string
  /** ISO 8601 time the project was last opened. */
  openedAt: string
  /** False when the file no longer exists. */
  exists: boolean
}

/** A class (label). `key` is what the import saw (folder name or CSV ClassId), `name` what users read. */
export interface ClassInfo {
  /** Database id; stable for the life of the project. */
  id: number
  /** Source key, e.g. the folder name `"14"`; unique; used to map folders at evaluation time. */
  key: string
  /** Human name, e.g. `"Stop"`; defaults to the key. */
  name: string
  /** Keyboard shortcut index (0-based position in the class list). */
  position: number
  /** Number of images carrying this label. */
  count: number
}

/** One image row as the grid needs it. */
export interface ImageSummary {
  id: number
  /** File name without folder. */
  fileName: string
  /** Class id, or null when unlabelled. */
  classId: number | null
  split: Split | null
  width: number
  height: number
  /** Hex content hash (SHA-1 of the file bytes): the image's media cache key (shared `mediaVersion`). */
  hash?: string
  /** Prediction of the selected run, when the query asked for one. */
  predictedClassId?: number | null
  /** Confidence (0..1) of that prediction. */
  confidence?: number | null
}

/** Everything known about one image, for the detail view. */
export interface ImageDetail extends ImageSummary {
  /** Absolute path of the file as last seen. */
  path: string
  /** Folder the file was imported from. */
  importRoot: string
  /** Hex content hash (SHA-1 of the file bytes). */
  hash: string
  format: ImageFormat
  sizeBytes: number
  /** Group key used to keep near-duplicates in one split (GTSRB track `TTTTT`). */
  groupKey: string | null
  /** Region of interest in the stored file's pixel coordinates, when known. */
  roi: Roi | null
  /** ISO 8601 time of import. */
  importedAt: string
}

export type ImageFormat = 'ppm' | 'pgm' | 'png' | 'jpeg' | 'webp' | 'bmp' | 'gif'

export interface Roi {
  x1: number
  y1: number
  x2: number
  y2: number
}

export type ImageSortKey = 'id' | 'fileName' | 'class' | 'confidence' | 'importedAt'

/** A filter over the library; every field is optional and they combine with AND. */
export interface ImageFilter {
  /** Only images with one of these class ids. */
  classIds?: number[]
  /** Only unlabelled images. */
  unlabelled?: boolean
  /** Only images in this split; `'none'` means not assigned. */
  split?: Split | 'none'
  /** Case-insensitive substring of the file name. */
  search?: string
  /** With `runId`: only images whose prediction in that run disagrees with their label. */
  disagreesWithRun?: number
  /** Only these images (a region selected on the review's map); at most MAX_FILTER_IMAGES ids. */
  imageIds?: number[]
}

export interface ImageQuery {
  filter: ImageFilter
  sort?: { key: ImageSortKey; descending?: boolean }
  /** Run whose predictions to attach (and sort by, for `confidence`). */
  runId?: number
  /** 0-based row offset. */
  offset: number
  /** Rows to return, at most 1000. */
  limit: number
}

export interface ImagePage {
  /** Rows matching the filter in total. */
  total: number
  offset: number
  items: ImageSummary[]
}

/** Where labels come from on import. */
export type LabelSource = 'folders' | 'gtsrb-csv' | 'none'

export interface ImportRequest {
  /** Folder to import, recursively. */
  folder: string
  labels: LabelSource
  /** Optional `ClassId,SignName` CSV mapping keys to names. */
  namesCsv?: string
  /** With `gtsrb-csv`: the annotation CSV; found in the folder when omitted. */
  annotationsCsv?: string
  /** With `gtsrb-csv`: crop to the ROI (scaled to the stored file's size). */
  cropToRoi?: boolean
}

export interface ImportFailure {
  path: string
  /** Human-readable reason, e.g. "truncated PPM: expected 3072 bytes of pixels, found 100". */
  reason: string
  /** The reason as a catalogue key and its parameters (src/shared/messages), when it has one. */
  code?: string
  params?: Record<string, string | number>
}

/** Emitted while an import runs; the last one has `phase: 'done' | 'cancelled' | 'failed'`. */
export interface ImportProgressEvent {
  importId: number
  phase: 'scanning' | 'importing' | 'done' | 'cancelled' | 'failed'
  /** Files processed so far (imported, duplicate or failed). */
  done: number
  /** Files found so far (grows while scanning). */
  total: number
  /** Files per second over the import so far. */
  rate: number
  /** Estimated seconds left, or null when unknown. */
  etaSeconds: number | null
  imported: number
  skippedDuplicates: number
  failed: number
  /** Present on the terminal event when `phase === 'failed'`. */
  error?: string
}

export interface ImportSummary {
  importId: number
  status: 'done' | 'cancelled' | 'failed'
  /** New images added. */
  imported: number
  /** Files whose content was already in the library. */
  skippedDuplicates: number
  /** Known images found at a new path (moved files). */
  moved: number
  failed: ImportFailure[]
  /** Classes after the import, with counts. */
  classes: ClassInfo[]
  seconds: number
  /** Why the import stopped, when `status === 'failed'`. */
  error?: string
}

export interface LibraryStats {
  images: number
  labelled: number
  unlabelled: number
  splits: Record<Split | 'none', number>
}

/** Result of a label change; `undoable` tells whether undo is possible after it. */
export interface LabelChangeResult {
  changed: number
  canUndo: boolean
  canRedo: boolean
  /**
   * Undo/redo only: images left as they were because their label had changed since (in another window or
   * process); absent when there were none.
   */
  skipped?: number
}

export interface SplitRequest {
  /** Fraction of each class (by group) for validation, 0..1. */
  val: number
  /** Fraction for test, 0..1; `val + test < 1`. */
  test: number
  /** `track`: keep GTSRB tracks (file-name prefix before `_`) together. */
  groupBy: 'track' | 'none'
  seed: number
}

export interface SplitSummary {
  train: number
  val: number
  test: number
  /** Per class counts, by class id. */
  perClass: { classId: number; train: number; val: number; test: number }[]
}

/** An error as it crosses the IPC boundary. */
export interface SerializedError {
  name: string
  /** English text (what the CLI prints; the fallback where `code` is unknown). */
  message: string
  /** Key of the message in src/shared/messages, when the backend worded it from the catalogue. */
  code?: string
  /** The message's parameters (paths, ids, counts). */
  params?: Record<string, string | number>
}
