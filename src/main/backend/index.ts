// The backend: builds the services once and exposes them as the IPC contract's handlers plus typed
// events. Electron's IPC adapter, the WebSocket server and the CLI all sit on top of `createBackend`; this
// module holds no business logic, only argument checks and the mapping from channel to service method.
import { existsSync } from 'node:fs'
import { cpus, platform } from 'node:os'
import type { Channel, EventName, Events, HandlerArgs, HandlerResult } from '../../shared/ipc'
import type {
  ImageFilter,
  ImageQuery,
  ImageSortKey,
  ImportRequest,
  LabelSource,
  Split
} from '../../shared/types'
import { LibraryService } from '../library/libraryService'
import { MediaService, type Media } from '../library/mediaService'
import { ProjectService } from '../project/projectService'
import { BaseCheckService } from '../training/baseCheck'
import { EstimateService } from '../training/estimate'
import { exportPreview } from '../training/exportPreview'
import { PredictionService, type InferenceWorkerOptions, type PredictFile } from '../training/prediction'
import { TrainingService, defaultRunner, type JobRunner } from '../training/trainingService'
import { createTrainingHandlers } from './training'
import { Check, ValidationError } from './validate'
import { onnxRuntimeAvailable } from '../ml/evaluate/onnxRuntime'
import { version as packageVersion } from '../../../package.json'
import type { BaseModel, TrainConfig } from '../../shared/training'

export type BackendHandlers = { [C in Channel]: (args: HandlerArgs<C>) => Promise<HandlerResult<C>> }

export interface Backend {
  /** Implementations of every channel in src/shared/ipc.ts `Handlers`. */
  handlers: BackendHandlers
  /** Typed events for every EventName; on() returns an unsubscribe function. */
  on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void
  media(kind: 'thumb' | 'full', id: number): Promise<Media>
  /** Direct service access for the CLI and the ML engine. */
  services: {
    library: LibraryService
    projects: ProjectService
    media: MediaService
    training: TrainingService
    baseCheck: BaseCheckService
    estimates: EstimateService
    prediction: PredictionService
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
   * How training and evaluation jobs run. Default: the built worker `trainWorker` (forked, so training never
   * blocks this process) at `workerEntry`, else beside the bundle; in process when none is found.
   */
  runner?: JobRunner
  /** The built worker, e.g. `join(__dirname, 'trainWorker.js')` in out/main. */
  workerEntry?: string
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
}

export type DialogOpenArgs = HandlerArgs<'dialog:open'>

const SORT_KEYS: readonly ImageSortKey[] = ['id', 'fileName', 'class', 'confidence', 'importedAt']
const SPLITS: readonly (Split | 'none')[] = ['train', 'val', 'test', 'none']
const LABEL_SOURCES: readonly LabelSource[] = ['folders', 'gtsrb-csv', 'none']
const MAX_PAGE = 1000
const MAX_IDS = 1_000_000
const MAX_PREDICT_FILES = 1000
/** Base64 of one dropped image (about 36 MB of bytes). */
const MAX_BASE64 = 48_000_000

export function createBackend(opts: BackendOptions): Backend {
  const listeners = new Map<EventName, Set<(payload: never) => void>>()
  const emit = <E extends EventName>(event: E, payload: Events[E]): void => {
    for (const l of listeners.get(event) ?? []) {
      try {
        ;(l as (p: Events[E]) => void)(payload)
      } catch (err) {
        // One broken listener must not stop the others (or the import that emitted).
        console.error(`listener for ${event} failed:`, err)
      }
    }
  }

  const projects = new ProjectService(opts.dataDir)
  const library = new LibraryService(projects, {
    onProgress: (e) => emit('import-progress', e),
    onChanged: (reason) => emit('library-changed', { reason })
  })
  const media = new MediaService(projects)
  projects.onDidChange(() => emit('library-changed', { reason: 'project' }))
  const training = new TrainingService(projects, { runner: opts.runner ?? defaultRunner(opts.workerEntry) })
  const offTraining = training.onEvent((e) => emit('training-progress', e))
  const baseCheck = new BaseCheckService(training)
  const estimates = new EstimateService(projects, training)
  const prediction = new PredictionService(training, opts.inferenceWorker)
  const trainingHandlers = createTrainingHandlers(training)
  if (opts.projectPath) {
    if (existsSync(opts.projectPath)) projects.openProject(opts.projectPath)
    else projects.create(opts.projectPath)
  }

  const noProjectSwitchDuringImport = (): void => {
    if (library.importing) throw new Error('an import is running; cancel it before switching projects')
  }

  const filterOf = (c: Check): ImageFilter => {
    const f = c.object('filter')
    const filter: ImageFilter = {}
    if (f.has('classIds')) filter.classIds = f.intArray('classIds', { maxLength: 10_000 })
    if (f.has('unlabelled')) filter.unlabelled = f.bool('unlabelled')
    if (f.has('split')) filter.split = f.oneOf('split', SPLITS)
    if (f.has('search')) filter.search = f.string('search', { max: 500 })
    if (f.has('disagreesWithRun')) filter.disagreesWithRun = f.int('disagreesWithRun', { min: 1 })
    return filter
  }
  const sortOf = (c: Check): ImageQuery['sort'] => {
    if (!c.has('sort')) return undefined
    const s = c.object('sort')
    return { key: s.oneOf('key', SORT_KEYS), descending: s.bool('descending') ?? false }
  }
  const baseQuery = (c: Check): Omit<ImageQuery, 'offset' | 'limit'> => {
    const runId = c.int('runId', { min: 1, optional: true })
    const sort = sortOf(c)
    if (sort?.key === 'confidence' && runId === undefined) c.fail('sort.key', '"confidence" needs a runId')
    return { filter: filterOf(c), sort, runId }
  }

  const baseOf = (c: Check): BaseModel => {
    const b = c.object('base')
    const kind = b.oneOf('kind', ['none', 'bvlc-npy', 'studio-model'] as const)
    return kind === 'none' ? { kind } : { kind, path: b.string('path', { nonEmpty: true, max: 4096 }) }
  }
  const configOf = async (channel: string, args: unknown): Promise<TrainConfig> => {
    new Check(channel, args).object('config')
    const { validateTrainConfig } = await import('../ml/train/config')
    try {
      return validateTrainConfig((args as { config: unknown }).config)
    } catch (err) {
      throw new ValidationError(`${channel}: ${(err as Error).message}`)
    }
  }
  const predictFilesOf = (c: Check, args: unknown): PredictFile[] => {
    const files = (args as { files?: unknown }).files
    if (!Array.isArray(files) || files.length === 0) c.fail('files', 'must be a non-empty array')
    if (files.length > MAX_PREDICT_FILES) c.fail('files', `must have at most ${MAX_PREDICT_FILES} items`)
    return files.map((f: unknown, i): PredictFile => {
      const fc = new Check(`training:predict: files[${i}]`, f)
      if (fc.has('path')) return { path: fc.string('path', { nonEmpty: true, max: 4096 }) }
      const name = fc.string('name', { nonEmpty: true, max: 1000 })
      const dataBase64 = fc.string('dataBase64', { nonEmpty: true, max: MAX_BASE64 })
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(dataBase64)) fc.fail('dataBase64', 'must be base64')
      return { name, dataBase64 }
    })
  }

  const handlers: BackendHandlers = {
    ...trainingHandlers,
    'training:evaluate': async (args) => {
      const result = await trainingHandlers['training:evaluate'](args)
      // The stored per-image predictions change what the library's confidence sort and filter show.
      emit('library-changed', { reason: 'predictions' })
      return result
    },
    'system:info': async () => ({
      backend: estimates.backend(),
      onnxRuntime: onnxRuntimeAvailable(),
      cpus: cpus().length,
      platform: platform(),
      appVersion: opts.appVersion ?? packageVersion,
      desktop: opts.desktop ?? false
    }),
    'library:undoState': async () => library.undoState(),
    'training:validateBase': async (args) =>
      baseCheck.validateBase(baseOf(new Check('training:validateBase', args))),
    'training:estimate': async (args) => estimates.estimate(await configOf('training:estimate', args)),
    'training:predict': async (args) => {
      const c = new Check('training:predict', args)
      const runId = c.int('runId', { min: 1 })
      const top = c.int('top', { min: 1, max: 100, optional: true }) ?? 5
      return prediction.predict(runId, predictFilesOf(c, args), top)
    },
    'training:exportPreview': async (args) => {
      const c = new Check('training:exportPreview', args)
      return exportPreview(
        training,
        c.int('runId', { min: 1 }),
        c.string('outDir', { nonEmpty: true, max: 4096 })
      )
    },
    'dialog:open': async (args) => {
      const c: Check = new Check('dialog:open', args)
      const kind = c.oneOf('kind', ['file', 'folder'] as const)
      const title = c.string('title', { optional: true, max: 200 })
      const multiple = c.bool('multiple')
      const raw = (args as { filters?: unknown }).filters
      let filters: { name: string; extensions: string[] }[] | undefined
      if (raw !== undefined) {
        if (!Array.isArray(raw) || raw.length > 50)
          c.fail('filters', 'must be an array of at most 50 filters')
        filters = raw.map((f: unknown, i) => {
          const fc = new Check(`dialog:open: filters[${i}]`, f)
          const name = fc.string('name', { max: 200 })
          const ext = (f as { extensions?: unknown }).extensions
          if (!Array.isArray(ext) || !ext.every((e) => typeof e === 'string' && e.length <= 20))
            fc.fail('extensions', 'must be an array of short strings')
          return { name, extensions: ext as string[] }
        })
      }
      if (!opts.dialogs) return { supported: false, paths: [] }
      const request: DialogOpenArgs = { kind }
      if (title !== undefined) request.title = title
      if (filters) request.filters = filters
      if (multiple !== undefined) request.multiple = multiple
      return { supported: true, paths: await opts.dialogs.open(request) }
    },
    'project:create': async (args) => {
      const c = new Check('project:create', args)
      const path = c.string('path', { nonEmpty: true })
      noProjectSwitchDuringImport()
      return projects.create(path)
    },
    'project:open': async (args) => {
      const c = new Check('project:open', args)
      const path = c.string('path', { nonEmpty: true })
      noProjectSwitchDuringImport()
      return projects.openProject(path)
    },
    'project:current': async () => projects.current(),
    'project:recent': async () => projects.recent(),

    'library:import': async (args) => {
      const c = new Check('library:import', args)
      const req: ImportRequest = {
        folder: c.string('folder', { nonEmpty: true }),
        labels: c.oneOf('labels', LABEL_SOURCES)
      }
      if (c.has('namesCsv')) req.namesCsv = c.string('namesCsv', { nonEmpty: true })
      if (c.has('annotationsCsv')) req.annotationsCsv = c.string('annotationsCsv', { nonEmpty: true })
      if (c.has('cropToRoi')) req.cropToRoi = c.bool('cropToRoi')
      if (req.labels !== 'gtsrb-csv' && (req.annotationsCsv || req.cropToRoi)) {
        c.fail('annotationsCsv/cropToRoi', 'only apply with labels "gtsrb-csv"')
      }
      return library.import(req)
    },
    'library:cancelImport': async (args) => {
      const c = new Check('library:cancelImport', args)
      return library.cancelImport(c.int('importId', { min: 1 }))
    },
    'library:query': async (args) => {
      const c = new Check('library:query', args)
      const q: ImageQuery = {
        ...baseQuery(c),
        offset: c.int('offset', { min: 0 }),
        limit: c.int('limit', { min: 1, max: MAX_PAGE })
      }
      return library.query(q)
    },
    'library:queryIds': async (args) => {
      const c = new Check('library:queryIds', args)
      return { ids: library.queryIds(baseQuery(c)) }
    },
    'library:image': async (args) => {
      const c = new Check('library:image', args)
      return library.image(c.int('id', { min: 1 }))
    },
    'library:stats': async () => library.stats(),
    'library:setLabel': async (args) => {
      const c = new Check('library:setLabel', args)
      const imageIds = c.intArray('imageIds', { maxLength: MAX_IDS })
      const classId = c.int('classId', { min: 1, nullable: true })
      return library.setLabel(imageIds, classId)
    },
    'library:undo': async () => library.undo(),
    'library:redo': async () => library.redo(),
    'library:split': async (args) => {
      const c = new Check('library:split', args)
      const val = c.number('val', 0, 1)
      const test = c.number('test', 0, 1)
      if (val + test >= 1) c.fail('val + test', 'must be less than 1 (something must be left for training)')
      const groupBy = c.oneOf('groupBy', ['track', 'none'] as const)
      const seed = c.int('seed', { min: 0, max: 2 ** 32 - 1 })
      return library.split({ val, test, groupBy, seed })
    },

    'classes:list': async () => library.listClasses(),
    'classes:add': async (args) => {
      const c = new Check('classes:add', args)
      const name = c.string('name', { nonEmpty: true, max: 200 }).trim()
      const key = c.has('key') ? c.string('key', { nonEmpty: true, max: 200 }).trim() : undefined
      return library.addClass(name, key)
    },
    'classes:rename': async (args) => {
      const c = new Check('classes:rename', args)
      return library.renameClass(
        c.int('id', { min: 1 }),
        c.string('name', { nonEmpty: true, max: 200 }).trim()
      )
    },
    'classes:merge': async (args) => {
      const c = new Check('classes:merge', args)
      return library.mergeClasses(c.int('sourceId', { min: 1 }), c.int('targetId', { min: 1 }))
    },
    'classes:delete': async (args) => {
      const c = new Check('classes:delete', args)
      return library.deleteClass(c.int('id', { min: 1 }), c.int('reassignTo', { min: 1, nullable: true }))
    }
  }

  return {
    handlers,
    on(event, listener) {
      let set = listeners.get(event)
      if (!set) listeners.set(event, (set = new Set()))
      set.add(listener as (payload: never) => void)
      return () => void set.delete(listener as (payload: never) => void)
    },
    async media(kind, id) {
      if (kind !== 'thumb' && kind !== 'full')
        throw new Error(`media: kind must be "thumb" or "full", got ${String(kind)}`)
      if (!Number.isInteger(id) || id < 1)
        throw new Error(`media: id must be a positive integer, got ${String(id)}`)
      return media.get(kind, id)
    },
    services: { library, projects, media, training, baseCheck, estimates, prediction },
    async dispose() {
      await library.stopImport()
      await training.dispose()
      await prediction.dispose()
      estimates.dispose()
      offTraining()
      projects.close()
      listeners.clear()
    }
  }
}
