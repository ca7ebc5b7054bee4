// The model hub's slice of the IPC contract: the catalogue's pretrained models with their cache state, a
// download with streamed progress (one at a time per model, cancellable), and removal. Merged into ./ipc.ts;
// the arguments' schemas are in ./contract/channels.ts. Implemented by createHubHandlers
// (src/main/backend/hub.ts) over the ModelHubService (src/main/hub). A model is named by its catalogue id;
// a base chosen from the hub is `{ kind: 'hub', id }` (./training.ts), resolved to its file by the backend.

/** One catalogue model as the UI shows it. */
export interface HubModel {
  id: string
  name: string
  /** `alexnet` (the BVLC file or torchvision's), `resnet18`, `mobilenet_v3_small`, ... */
  architecture: string
  format: 'bvlc-npy' | 'torchvision-pth' | 'onnx'
  /** Size of the file. */
  bytes: number
  /** Square input side the model was trained at. */
  inputSize: number
  /** ImageNet-1k top-1 accuracy in percent, as its authors publish it; null when not known. */
  imagenetTop1: number | null
  params: number | null
  licence: string
  /** The verified file is in the cache. */
  downloaded: boolean
  /** Bytes of an interrupted download that the next one resumes (0 when none). */
  partialBytes: number
  /** This backend is downloading it now (progress arrives as `hub-progress`). */
  downloading: boolean
}

export interface HubResults {
  /** The catalogue with the cache's state; `dir` is the cache folder (TS_MODEL_DIR moves it). */
  'hub:list': { models: HubModel[]; dir: string }
  /** Download (or find in the cache) one model, verified; resolves when it is there, rejects when cancelled. */
  'hub:download': HubModel
  /** Stop a running download; what was fetched stays for the next one to resume. */
  'hub:cancelDownload': { cancelled: boolean }
  /** Delete a model's file from the cache. */
  'hub:remove': { removed: boolean }
}

export const HUB_CHANNEL_NAMES: Record<keyof HubResults, true> = {
  'hub:list': true,
  'hub:download': true,
  'hub:cancelDownload': true,
  'hub:remove': true
}

/** A running download's progress (a few per second at most), then one last event with its outcome. */
export interface HubProgressEvent {
  id: string
  state: 'downloading' | 'done' | 'failed' | 'cancelled'
  bytesDone: number
  bytesTotal: number
  /** Bytes per second over the last few seconds; 0 until measured. */
  rate: number
  /** Seconds left at `rate`; null while unknown. */
  etaSeconds: number | null
  /** Why it failed (state `failed`), in English. */
  error?: string
  /** The same as a catalogue key and its parameters (src/shared/messages), for the UI's language. */
  errorCode?: string
  errorParams?: Record<string, string | number>
}

export interface HubEvents {
  'hub-progress': HubProgressEvent
}

export const HUB_EVENT_NAMES: Record<keyof HubEvents, true> = { 'hub-progress': true }
