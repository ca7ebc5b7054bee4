// The backend's composition root: builds the services once, merges the domains' handler slices into the IPC
// contract (one file per domain beside this one; each parses its arguments, then calls one service method)
// and owns the one event emitter. Electron's IPC adapter, the WebSocket server and the CLI all sit on top of
// `createBackend`.
import { existsSync } from 'node:fs'
import { z } from 'zod'
import type { Channel, EventName, Events } from '../../shared/ipc'
import { createEmitter } from '../../shared/emitter'
import { Id } from '../../shared/contract/training'
import { issuesLine } from '../../shared/contract/issues'
import { LibraryService } from '../library/libraryService'
import { MediaService, type Media } from '../library/mediaService'
import { ProjectService } from '../project/projectService'
import { watchExternalCommits } from '../db/database'
import { BaseCheckService } from '../training/baseCheck'
import { EstimateService } from '../training/estimate'
import { DoctorService } from '../training/doctorService'
import { UploadStore } from '../uploads/uploadStore'
import { PredictionService, type InferenceWorkerOptions } from '../training/prediction'
import { TrainingService, defaultRunner, type JobRunner } from '../training/trainingService'
import { ValidationError } from '../errors'
import { version as packageVersion } from '../../../package.json'
import type { BackendHandler } from './parse'
import { createProjectHandlers } from './project'
import { createLibraryHandlers } from './library'
import { createClassHandlers } from './classes'
import { createTrainingHandlers } from './training'
import { createSystemHandlers, type DialogOpenArgs } from './system'
import { createHubHandlers } from './hub'
import { ModelHubService, type ModelHubOptions } from '../hub'
import { ReviewService } from '../review/reviewService'
import { createReviewHandlers } from '../review/handlers'

export type { DialogOpenArgs } from './system'

/** Every channel's handler: what a client sent in, parsed by the channel's schema, then a service call. */
export type BackendHandlers = { [C in Channel]: BackendHandler<C> }

export interface Backend {
  /** Implementations of every channel in src/shared/ipc.ts `Handlers`. */
  handlers: BackendHandlers
  /** Typed events for every EventName; on() returns an unsubscribe function. */
  on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void
  /** `version`: the URL's `v`, the image's cache key (shared `mediaVersion`: content hash or project key). */
  media(kind: 'thumb' | 'full', id: number, version?: string): Promise<Media>
  /** Files sent to `serve` with `POST /upload`, named by id in `training:predict`. */
  uploads: UploadStore
  /** Direct service access for the CLI and the ML engine. */
  services: {
    library: LibraryService
    projects: ProjectService
    media: MediaService
    training: TrainingService
    baseCheck: BaseCheckService
    estimates: EstimateService
    prediction: PredictionService
    hub: ModelHubService
    review: ReviewService
  }
  /** Stop a running import and a running training job (waits for both) and close the project. */
  dispose(): Promise<void>
}

export interface BackendOptions {
  /** App data folder (recent projects list). */
  dataDir: string
  /** Project to open at start; created when the file does not exist. */
  projectPath?: string
  /**
   * How training and evaluation jobs run. Default: the worker at `workerEntry` (forked, so training never
   * blocks this process); in process without one.
   */
  runner?: JobRunner
  /** The built worker, e.g. `join(__dirname, 'trainWorker.js')` in out/main. */
  workerEntry?: string
  /** The gradient worker a train job uses on wasm, e.g. `join(__dirname, 'gradWorker.js')` in out/main. */
  gradWorkerEntry?: string
  /**
   * The inference worker that decodes images and runs classifiers for `training:predict`, e.g.
   * `{ entry: join(__dirname, 'inferenceWorker.js') }` in out/main. Without it prediction runs in process.
   */
  inferenceWorker?: InferenceWorkerOptions
  /** True inside the Electron app. */
  desktop?: boolean
  /** Native file dialogs (the desktop app); without them `dialog:open` answers `supported: false`. */
  dialogs?: { open(args: DialogOpenArgs): Promise<string[]> }
  /** Shown by `system:info`. */
  appVersion?: string
  /** The model hub's cache and catalogue (default: TS_MODEL_DIR / TS_MODEL_CATALOGUE or the user's cache). */
  hub?: ModelHubOptions
}

const MediaRequest = z.strictObject({
  kind: z.enum(['thumb', 'full']),
  id: Id,
  version: z.string().max(80).optional()
})

export function createBackend(opts: BackendOptions): Backend {
  const events = createEmitter<Events>()
  const emit = events.emit

  const projects = new ProjectService(opts.dataDir)
  const library = new LibraryService(projects, {
    onProgress: (e) => emit('import-progress', e),
    onChanged: (reason) => emit('library-changed', { reason })
  })
  const media = new MediaService(projects)
  const offProjects = projects.onDidChange(() => emit('library-changed', { reason: 'project' }))
  // The app, `serve` and the CLI may all have this project open: another process's commit (an import, a
  // label) is news for every client here too, or a browser would show a stale library until reloaded.
  let stopExternal = (): void => undefined
  const offExternal = projects.onDidChange((project) => {
    stopExternal()
    // Only library changes count: a CLI trainer's heartbeat every 2 s would reload every client's grid.
    stopExternal = project
      ? watchExternalCommits(project.db, () => emit('library-changed', { reason: 'external' }), {
          fingerprint: project.repo.libraryFingerprint
        })
      : () => undefined
  })
  const hub = new ModelHubService(opts.hub)
  // One runner for the engine's jobs: training and evaluation, and the doctor's diagnosis for `system:doctor`.
  const runner = opts.runner ?? defaultRunner(opts.workerEntry)
  const training = new TrainingService(projects, {
    runner,
    gradWorker: opts.gradWorkerEntry ? { file: opts.gradWorkerEntry } : undefined,
    models: hub
  })
  const offTraining = training.onEvent((e) => emit('training-progress', e))
  const offTrainingLibrary = training.onLibraryChanged((reason) => emit('library-changed', { reason }))
  const baseCheck = new BaseCheckService(training, hub)
  const hubSlice = createHubHandlers({ hub, emit: (event, payload) => emit(event, payload) })
  const estimates = new EstimateService(projects, training)
  const uploads = new UploadStore()
  const prediction = new PredictionService(training, opts.inferenceWorker, uploads)
  const appVersion = opts.appVersion ?? packageVersion
  const doctor = new DoctorService({ appVersion, runner })
  // The data review runs its cross-validation as a job on the same runner, so it never blocks this loop.
  const review = new ReviewService(projects, library, {
    runner,
    gradWorker: opts.gradWorkerEntry ? { file: opts.gradWorkerEntry } : undefined,
    models: hub
  })
  const offReview = review.onProgress((e) => emit('review-progress', e))
  if (opts.projectPath) {
    if (existsSync(opts.projectPath)) projects.openProject(opts.projectPath)
    else projects.create(opts.projectPath)
  }

  const handlers: BackendHandlers = {
    ...createProjectHandlers({ projects, library }),
    ...createLibraryHandlers({ library }),
    ...createClassHandlers({ library }),
    ...createTrainingHandlers({ training, hub }),
    ...hubSlice.handlers,
    ...createReviewHandlers(review),
    ...createSystemHandlers({
      training,
      baseCheck,
      estimates,
      prediction,
      doctor,
      dialogs: opts.dialogs,
      desktop: opts.desktop ?? false,
      appVersion
    })
  }

  return {
    handlers,
    on: (event, listener) => events.on(event, listener),
    async media(kind, id, version) {
      const request = MediaRequest.safeParse({ kind, id, version })
      if (!request.success)
        throw new ValidationError(`media: ${issuesLine(request.error.issues, { kind, id })}`)
      return media.get(request.data.kind, request.data.id, request.data.version)
    },
    uploads,
    services: { library, projects, media, training, baseCheck, estimates, prediction, hub, review },
    async dispose() {
      await hubSlice.downloads.cancelAll()
      await library.stopImport()
      await review.dispose()
      offReview()
      await training.dispose()
      await prediction.dispose()
      uploads.dispose()
      estimates.dispose()
      offTraining()
      offTrainingLibrary()
      offProjects()
      stopExternal()
      offExternal()
      projects.close()
      events.clear()
    }
  }
}
