// Where a project keeps its files, in one place: the folders beside the project file (thumbnails, runs,
// feature caches, the review) and the layout of a run folder (the trained model, resumable snapshots, the checkpoint
// record). A dependency-free leaf (plain path joins), so the engine, the database layer and the services
// all build these names from here and never spell them out themselves.
import { join } from 'node:path'

/** The project file's path without a trailing separator, so `<project>.thumbs` never becomes `<project>/.thumbs`. */
function stem(projectPath: string): string {
  return projectPath.replace(/[\\/]+$/, '')
}

/** `<project>.thumbs`: cached thumbnails of the library's images. */
export const thumbnailDir = (projectPath: string): string => `${stem(projectPath)}.thumbs`

/** `<project>.runs`: one folder per training run. */
export const runsRoot = (projectPath: string): string => `${stem(projectPath)}.runs`

/** `<project>.runs/run-<id>`: a run's checkpoints and trained model. */
export const runDir = (projectPath: string, runId: number): string =>
  join(runsRoot(projectPath), `run-${runId}`)

/** `<project>.features`: cached fc7 features of feature-extraction runs. */
export const featureCacheRoot = (projectPath: string): string => `${stem(projectPath)}.features`

/** `<project>.review`: the data review's files. */
export const reviewDir = (projectPath: string): string => `${stem(projectPath)}.review`

/** `<project>.review/last.json`: the last review's report, as built (decisions are applied when it is read). */
export const lastReviewFile = (projectPath: string): string => join(reviewDir(projectPath), 'last.json')

/** Inside a run folder. */
export const RUN_FILES = {
  /** The trained model, an export folder (model.json, weights.bin, metadata.json), once the run completed. */
  model: 'model',
  /** The weights of the last finished epoch, for resuming. */
  checkpoint: 'checkpoint',
  /** The weights of the best validation epoch so far (early stopping restores them). */
  best: 'best',
  /** The checkpoint record, written last so it never names missing weights. */
  checkpointJson: 'checkpoint.json'
} as const

/** `<runDir>/model`. */
export const runModelDir = (dir: string): string => join(dir, RUN_FILES.model)
