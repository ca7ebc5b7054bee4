// The backend: builds the services once and exposes them as the IPC contract's handlers plus typed
// events. Electron's IPC adapter, the WebSocket server and the CLI all sit on top of `createBackend`; this
// module holds no business logic, only argument checks and the mapping from channel to service method.
import { existsSync } from 'node:fs'
import type { Channel, EventName, Events, HandlerArgs, HandlerResult } from '../shared/ipc'
import type {
  ImageFilter,
  ImageQuery,
  ImageSortKey,
  ImportRequest,
  LabelSource,
  Split
} from '../shared/types'
import { LibraryService } from './services/libraryService'
import { MediaService, type Media } from './services/mediaService'
import { ProjectService } from './services/projectService'
import { Check } from './services/validate'

export type BackendHandlers = { [C in Channel]: (args: HandlerArgs<C>) => Promise<HandlerResult<C>> }

export interface Backend {
  /** Implementations of every channel in src/shared/ipc.ts `Handlers`. */
  handlers: BackendHandlers
  /** Typed events for every EventName; on() returns an unsubscribe function. */
  on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void
  media(kind: 'thumb' | 'full', id: number): Promise<Media>
  /** Direct service access for the CLI and the ML engine. */
  services: { library: LibraryService; projects: ProjectService; media: MediaService }
  /** Stop a running import (waits for it) and close the project. */
  dispose(): Promise<void>
}

export interface BackendOptions {
  /** App data folder (recent projects list). */
  dataDir: string
  /** Project to open at start; created when the file does not exist. */
  projectPath?: string
}

const SORT_KEYS: readonly ImageSortKey[] = ['id', 'fileName', 'class', 'confidence', 'importedAt']
const SPLITS: readonly (Split | 'none')[] = ['train', 'val', 'test', 'none']
const LABEL_SOURCES: readonly LabelSource[] = ['folders', 'gtsrb-csv', 'none']
const MAX_PAGE = 1000
const MAX_IDS = 1_000_000

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

  const handlers: BackendHandlers = {
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
    services: { library, projects, media },
    async dispose() {
      await library.stopImport()
      projects.close()
      listeners.clear()
    }
  }
}
