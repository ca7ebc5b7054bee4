// The one IPC contract between the backend (Electron main process, or `transfer-studio serve`) and the
// renderer. Two shapes only: `invoke(channel, args)` for request/response, and pushed events (Events) that a
// client listens to and unsubscribes from. Each domain declares the results of its channels here (the
// training slice in ./trainingIpc.ts); each channel's arguments are a schema in ./contract/channels.ts,
// from which their types are inferred. Arguments are one plain object; results are plain serialisable data.
// Only types come from the schema module, so the preload and the renderer bundle no schema library.
import type {
  ClassInfo,
  ImageDetail,
  ImagePage,
  ImportProgressEvent,
  ImportSummary,
  LabelChangeResult,
  LibraryStats,
  ProjectInfo,
  RecentProject,
  SplitSummary
} from './types'
import type { BackendName, Prediction } from './training'
import type { DoctorReport } from './doctor'
import {
  TRAINING_CHANNEL_NAMES,
  TRAINING_EVENT_NAMES,
  type TrainingEvents,
  type TrainingResults
} from './trainingIpc'
import { HUB_CHANNEL_NAMES, HUB_EVENT_NAMES, type HubEvents, type HubResults } from './hubIpc'
import { REVIEW_CHANNEL_NAMES, REVIEW_EVENT_NAMES, type ReviewEvents, type ReviewResults } from './review'
import type { ChannelArgs, ChannelSchemas } from './contract/channels'
import type { Assert, Same } from './contract/training'

/** Project lifecycle: what each channel answers (its arguments: ./contract/channels.ts). */
export interface ProjectResults {
  /** Create a new project file (fails if it exists) and open it. */
  'project:create': ProjectInfo
  /** Open an existing project file (runs pending migrations). */
  'project:open': ProjectInfo
  /** The open project, or null. */
  'project:current': ProjectInfo | null
  /** Recently opened projects, newest first. */
  'project:recent': RecentProject[]
}

/** Import, browse and label. */
export interface LibraryResults {
  /** Start an import; progress arrives as `import-progress` events; resolves with the summary when done. */
  'library:import': ImportSummary
  /** Cancel a running import; what was committed stays. */
  'library:cancelImport': { cancelled: boolean }
  /** One page of images matching a filter. */
  'library:query': ImagePage
  /** All ids matching a filter, in the query's order (for select-all-filtered and keyboard navigation). */
  'library:queryIds': { ids: number[] }
  'library:image': ImageDetail
  'library:stats': LibraryStats
  /** Label images (classId null = remove the label). Undoable. */
  'library:setLabel': LabelChangeResult
  'library:undo': LabelChangeResult
  'library:redo': LabelChangeResult
  /** Whether undo/redo are possible now (after a reload the renderer asks). */
  'library:undoState': { canUndo: boolean; canRedo: boolean }
  /** Assign train/val/test splits, stratified by class, grouped, deterministic by seed. */
  'library:split': SplitSummary
}

/** The class manager. */
export interface ClassResults {
  'classes:list': ClassInfo[]
  'classes:add': ClassInfo
  'classes:rename': ClassInfo
  /** Move every image of `sourceId` to `targetId` and delete `sourceId`. */
  'classes:merge': ClassInfo
  /** Delete a class; its images move to `reassignTo` (a class id) or become unlabelled (null). */
  'classes:delete': { reassigned: number }
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
export interface SystemResults {
  'system:info': SystemInfo
  /**
   * The About screen: what `transfer-studio doctor` says (the backend that trains and why, the cores used,
   * onnxruntime, the advice with its commands), its sentences as catalogue keys. The first ask starts TF.js.
   */
  'system:doctor': DoctorReport
  /** Check a base model on the spot: readable, right structure and shapes. Never throws for a bad file. */
  'training:validateBase': {
    ok: boolean
    /** One sentence for the user: what was found, or what is wrong (in English). */
    message: string
    /** The same as a catalogue key and its parameters (src/shared/messages), for the UI's language. */
    code?: string
    params?: Record<string, string | number>
    /** Layer names found (bvlc) or the model's architecture (studio model). */
    layers?: string[]
  }
  /** How long a run with this config would take on this machine's backend, from measured per-image costs. */
  'training:estimate': {
    seconds: number
    trainImages: number
    /** How the estimate was made, in one sentence (backend, per-image cost). */
    basis: string
    /** The project's run whose measured rate the estimate scales, or null when the rate is assumed. */
    measuredRun?: number | null
    /** The backend of that run, or the one assumed. */
    backend?: BackendName | null
    /** True when the rate is assumed (no run measured yet) or the model's size is guessed: say "rough". */
    rough?: boolean
  }
  /** Top-k classes for image files (paths on the backend's machine, or bytes from a browser drop). */
  'training:predict': Prediction[]
  /** What an export would write, and whether the folder is usable (exists and empty, or creatable). */
  'training:exportPreview': {
    /** `description` in English; `code` its key in src/shared/messages, for the UI's language. */
    files: { name: string; description: string; code?: string }[]
    /** Null when the folder is fine; else why not (not empty, no permission, ...), in English. */
    problem: string | null
    /** The same as a catalogue key and its parameters. */
    problemCode?: string | null
    problemParams?: Record<string, string> | null
  }
  /** A native open dialog (desktop app only; `supported: false` under serve, where the UI asks for a path). */
  'dialog:open': { supported: boolean; paths: string[] }
}

/** What every channel answers. */
export type Results = ProjectResults &
  LibraryResults &
  ClassResults &
  TrainingResults &
  HubResults &
  ReviewResults &
  SystemResults
export type Channel = keyof Results
/** What a client sends on `channel`: inferred from the channel's schema. */
export type HandlerArgs<C extends Channel> = ChannelArgs<C>
export type HandlerResult<C extends Channel> = Results[C]
/** The contract as functions (what the backend implements, asynchronously). */
export type Handlers = { [C in Channel]: (args: HandlerArgs<C>) => HandlerResult<C> }

/** A schema map (or any record keyed by channel) with exactly one entry per channel: `true` or `false`. */
export type CoversChannels<M> = Same<keyof M, Channel>
/** Compile-time proof that ./contract/channels.ts has one schema per channel, and none for an unknown one. */
export type SchemasCoverContract = Assert<CoversChannels<ChannelSchemas>>

/** Events pushed from the backend to every listening client. */
export interface Events extends TrainingEvents, HubEvents, ReviewEvents {
  /** Progress of a running import (several per second at most). */
  'import-progress': ImportProgressEvent
  /** Something changed in the library that views should reload (labels, classes, splits, imports). */
  'library-changed': {
    reason: 'import' | 'labels' | 'classes' | 'splits' | 'project' | 'predictions' | 'external'
  }
}
export type EventName = keyof Events

/** What the preload exposes as `window.api`, and what the WebSocket client implements. */
export interface StudioApi {
  invoke<C extends Channel>(channel: C, args: HandlerArgs<C>): Promise<HandlerResult<C>>
  /** Subscribe to an event; returns the unsubscribe function. */
  on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void
  /**
   * URL of an image's thumbnail (or the full image as PNG with `full`), loadable by an <img>. `version` is
   * the image's cache key (see `mediaVersion`): URLs that carry it never collide across projects or
   * re-imports, and the backend refuses (404) a key that is not the open project's and the image's.
   */
  imageUrl(id: number, kind: 'thumb' | 'full', version?: string): string
  /**
   * Send a file to the backend ahead of an invoke that names it (`{ upload: id, name }`): streamed over
   * HTTP by the `serve` client. The desktop app has none: it sends paths.
   */
  upload?(file: Blob, name: string): Promise<string>
}

// Allowlists as records typed by the contract: a channel or event missing here, or one the contract does not
// know, is a compile error. Plain data, so the sandboxed preload can use them without the schema library.
const CHANNEL_NAMES: Record<Channel, true> = {
  ...TRAINING_CHANNEL_NAMES,
  ...HUB_CHANNEL_NAMES,
  ...REVIEW_CHANNEL_NAMES,
  'project:create': true,
  'project:open': true,
  'project:current': true,
  'project:recent': true,
  'library:import': true,
  'library:cancelImport': true,
  'library:query': true,
  'library:queryIds': true,
  'library:image': true,
  'library:stats': true,
  'library:setLabel': true,
  'library:undo': true,
  'library:redo': true,
  'library:undoState': true,
  'library:split': true,
  'classes:list': true,
  'classes:add': true,
  'classes:rename': true,
  'classes:merge': true,
  'classes:delete': true,
  'system:info': true,
  'system:doctor': true,
  'training:validateBase': true,
  'training:estimate': true,
  'training:predict': true,
  'training:exportPreview': true,
  'dialog:open': true
}

const EVENT_NAMES: Record<EventName, true> = {
  ...TRAINING_EVENT_NAMES,
  ...HUB_EVENT_NAMES,
  ...REVIEW_EVENT_NAMES,
  'import-progress': true,
  'library-changed': true
}

/** Every channel, for the allowlist in the preload and the WebSocket server. */
export const CHANNELS = Object.freeze(Object.keys(CHANNEL_NAMES) as Channel[])
/** Every event name. */
export const EVENTS = Object.freeze(Object.keys(EVENT_NAMES) as EventName[])

export function isChannel(value: unknown): value is Channel {
  return typeof value === 'string' && Object.hasOwn(CHANNEL_NAMES, value)
}

export function isEventName(value: unknown): value is EventName {
  return typeof value === 'string' && Object.hasOwn(EVENT_NAMES, value)
}

/**
 * Wire format of `transfer-studio serve` (one JSON object per WebSocket text message).
 * The WebSocket lives at `ws://127.0.0.1:PORT/api?token=TOKEN`; images at
 * `http://127.0.0.1:PORT/media/{thumb|full}/ID?v=VERSION&token=TOKEN` (PNG; VERSION from `mediaVersion`). The page is served at
 * `http://127.0.0.1:PORT/?token=TOKEN` and reads the token from its own URL.
 */
export type ClientMessage = { type: 'invoke'; id: number; channel: Channel; args: unknown }
export type ServerMessage =
  | { type: 'result'; id: number; ok: true; result: unknown }
  | { type: 'result'; id: number; ok: false; error: { name: string; message: string } }
  | { type: 'event'; event: EventName; payload: unknown }

/**
 * Custom protocol the desktop app registers for images: `studio-media://thumb/ID?v=VERSION`,
 * `studio-media://full/ID?v=VERSION`, with the same `v` as the server's `/media/{kind}/ID?v=VERSION&token=T`.
 */
export const MEDIA_PROTOCOL = 'studio-media'

/**
 * An image's media cache key: its content hash when the caller knows it, else the project's `mediaKey`.
 * Image ids restart at 1 in every project and a re-import can give an id new bytes, so the id alone is no
 * cache key. The hash alone is: the served bytes are made from the content only, so a URL with it names
 * one picture for good (immutable), whichever project is open, and rows of the previous project still on
 * screen for a moment keep naming their own pictures. Without it, the project key tells projects apart.
 */
export function mediaVersion(projectKey: string, hash?: string): string {
  return hash ?? projectKey
}

/** `mediaVersion` read back; null when it is not one (wrong shape: answered 404 like a stale key). */
export function parseMediaVersion(v: string): { hash: string } | { projectKey: string } | null {
  if (/^[0-9a-f]{40}$/.test(v)) return { hash: v }
  if (/^[0-9a-f]{16}$/.test(v)) return { projectKey: v }
  return null
}
