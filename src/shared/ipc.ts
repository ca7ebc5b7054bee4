// The one IPC contract between the backend (Electron main process, or `transfer-studio serve`) and the
// renderer. Two shapes only: `invoke(channel, args)` for request/response (Handlers), and pushed events
// (Events) that a client listens to and unsubscribes from. Each domain declares its slice; this file
// merges them. Arguments are one plain object; results are plain serialisable data.
import type {
  ClassInfo,
  ImageDetail,
  ImagePage,
  ImageQuery,
  ImportProgressEvent,
  ImportRequest,
  ImportSummary,
  LabelChangeResult,
  LibraryStats,
  ProjectInfo,
  RecentProject,
  SplitRequest,
  SplitSummary
} from './types'
import type { BaseModel, BackendName, Prediction, TrainConfig } from './training'
import { TRAINING_CHANNELS, TRAINING_EVENTS, type TrainingEvents, type TrainingHandlers } from './trainingIpc'

/** Project lifecycle. */
export interface ProjectHandlers {
  /** Create a new project file (fails if it exists) and open it. */
  'project:create': (args: { path: string }) => ProjectInfo
  /** Open an existing project file (runs pending migrations). */
  'project:open': (args: { path: string }) => ProjectInfo
  /** The open project, or null. */
  'project:current': (args: Record<string, never>) => ProjectInfo | null
  /** Recently opened projects, newest first. */
  'project:recent': (args: Record<string, never>) => RecentProject[]
}

/** Import, browse and label. */
export interface LibraryHandlers {
  /** Start an import; progress arrives as `import-progress` events; resolves with the summary when done. */
  'library:import': (args: ImportRequest) => ImportSummary
  /** Cancel a running import; what was committed stays. */
  'library:cancelImport': (args: { importId: number }) => { cancelled: boolean }
  /** One page of images matching a filter. */
  'library:query': (args: ImageQuery) => ImagePage
  /** All ids matching a filter, in the query's order (for select-all-filtered and keyboard navigation). */
  'library:queryIds': (args: Omit<ImageQuery, 'offset' | 'limit'>) => { ids: number[] }
  'library:image': (args: { id: number }) => ImageDetail
  'library:stats': (args: Record<string, never>) => LibraryStats
  /** Label images (classId null = remove the label). Undoable. */
  'library:setLabel': (args: { imageIds: number[]; classId: number | null }) => LabelChangeResult
  'library:undo': (args: Record<string, never>) => LabelChangeResult
  'library:redo': (args: Record<string, never>) => LabelChangeResult
  /** Assign train/val/test splits, stratified by class, grouped, deterministic by seed. */
  'library:split': (args: SplitRequest) => SplitSummary
}

/** The class manager. */
export interface ClassHandlers {
  'classes:list': (args: Record<string, never>) => ClassInfo[]
  'classes:add': (args: { name: string; key?: string }) => ClassInfo
  'classes:rename': (args: { id: number; name: string }) => ClassInfo
  /** Move every image of `sourceId` to `targetId` and delete `sourceId`. */
  'classes:merge': (args: { sourceId: number; targetId: number }) => ClassInfo
  /** Delete a class; its images move to `reassignTo` (a class id) or become unlabelled (null). */
  'classes:delete': (args: { id: number; reassignTo: number | null }) => { reassigned: number }
}

/** What the backend runs on, for the UI's status line and the wizard's time estimate. */
export interface SystemInfo {
  /** TF.js backend that trains (null until the first training run initialised one). */
  backend: BackendName | null
  /** onnxruntime-node loads: frozen forward passes (features, evaluation, prediction) run there. */
  onnxRuntime: boolean
  /** Logical CPU cores. */
  cpus: number
  platform: string
  appVersion: string
  /** True inside the Electron app (native dialogs available); false under `transfer-studio serve`. */
  desktop: boolean
}

/** The studio flow beyond the engine's own channels: base validation, estimates, prediction, dialogs. */
export interface StudioHandlers {
  'system:info': (args: Record<string, never>) => SystemInfo
  /** Whether undo/redo are possible now (after a reload the renderer asks). */
  'library:undoState': (args: Record<string, never>) => { canUndo: boolean; canRedo: boolean }
  /** Check a base model on the spot: readable, right structure and shapes. Never throws for a bad file. */
  'training:validateBase': (args: { base: BaseModel }) => {
    ok: boolean
    /** One sentence for the user: what was found, or what is wrong. */
    message: string
    /** Layer names found (bvlc) or the model's architecture (studio model). */
    layers?: string[]
  }
  /** How long a run with this config would take on this machine's backend, from measured per-image costs. */
  'training:estimate': (args: { config: TrainConfig }) => {
    seconds: number
    trainImages: number
    /** How the estimate was made, in one sentence (backend, per-image cost). */
    basis: string
  }
  /** Top-k classes for image files (paths on the backend's machine, or bytes from a browser drop). */
  'training:predict': (args: {
    runId: number
    files: ({ path: string } | { name: string; dataBase64: string })[]
    top?: number
  }) => Prediction[]
  /** What an export would write, and whether the folder is usable (exists and empty, or creatable). */
  'training:exportPreview': (args: { runId: number; outDir: string }) => {
    files: { name: string; description: string }[]
    /** Null when the folder is fine; else why not (not empty, no permission, ...). */
    problem: string | null
  }
  /** A native open dialog (desktop app only; `supported: false` under serve, where the UI asks for a path). */
  'dialog:open': (args: {
    kind: 'file' | 'folder'
    title?: string
    filters?: { name: string; extensions: string[] }[]
    multiple?: boolean
  }) => { supported: boolean; paths: string[] }
}

export type Handlers = ProjectHandlers & LibraryHandlers & ClassHandlers & TrainingHandlers & StudioHandlers
export type Channel = keyof Handlers
export type HandlerArgs<C extends Channel> = Parameters<Handlers[C]>[0]
export type HandlerResult<C extends Channel> = ReturnType<Handlers[C]>

/** Events pushed from the backend to every listening client. */
export interface Events extends TrainingEvents {
  /** Progress of a running import (several per second at most). */
  'import-progress': ImportProgressEvent
  /** Something changed in the library that views should reload (labels, classes, splits, imports). */
  'library-changed': { reason: 'import' | 'labels' | 'classes' | 'splits' | 'project' | 'predictions' }
}
export type EventName = keyof Events

/** What the preload exposes as `window.api`, and what the WebSocket client implements. */
export interface StudioApi {
  invoke<C extends Channel>(channel: C, args: HandlerArgs<C>): Promise<HandlerResult<C>>
  /** Subscribe to an event; returns the unsubscribe function. */
  on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void
  /** URL of an image's thumbnail (or the full image as PNG with `full`), loadable by an <img>. */
  imageUrl(id: number, kind: 'thumb' | 'full'): string
}

/** Every channel, for the allowlist in the preload and the WebSocket server. */
export const CHANNELS: readonly Channel[] = [
  'project:create',
  'project:open',
  'project:current',
  'project:recent',
  'library:import',
  'library:cancelImport',
  'library:query',
  'library:queryIds',
  'library:image',
  'library:stats',
  'library:setLabel',
  'library:undo',
  'library:redo',
  'library:split',
  'classes:list',
  'classes:add',
  'classes:rename',
  'classes:merge',
  'classes:delete',
  ...TRAINING_CHANNELS,
  'system:info',
  'library:undoState',
  'training:validateBase',
  'training:estimate',
  'training:predict',
  'training:exportPreview',
  'dialog:open'
] as const

export const EVENTS: readonly EventName[] = [
  'import-progress',
  'library-changed',
  ...TRAINING_EVENTS
] as const

export function isChannel(value: unknown): value is Channel {
  return typeof value === 'string' && (CHANNELS as readonly string[]).includes(value)
}

/**
 * Wire format of `transfer-studio serve` (one JSON object per WebSocket text message).
 * The WebSocket lives at `ws://127.0.0.1:PORT/api?token=TOKEN`; images at
 * `http://127.0.0.1:PORT/media/{thumb|full}/ID?token=TOKEN` (PNG). The page is served at
 * `http://127.0.0.1:PORT/?token=TOKEN` and reads the token from its own URL.
 */
export type ClientMessage = { type: 'invoke'; id: number; channel: Channel; args: unknown }
export type ServerMessage =
  | { type: 'result'; id: number; ok: true; result: unknown }
  | { type: 'result'; id: number; ok: false; error: { name: string; message: string } }
  | { type: 'event'; event: EventName; payload: unknown }

/** Custom protocol the desktop app registers for images: `studio-media://thumb/ID`, `studio-media://full/ID`. */
export const MEDIA_PROTOCOL = 'studio-media'
