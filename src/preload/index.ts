// The preload: exposes exactly one object, `window.api` (StudioApi), to the sandboxed renderer. Channels and
// events are checked against the contract's allowlists here too, so a compromised page cannot reach more.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron'
import type { SerializedError } from '../shared/types'
import {
  MEDIA_PROTOCOL,
  isChannel,
  isEventName,
  type EventName,
  type Events,
  type StudioApi
} from '../shared/ipc'

// Keep in sync with src/main/ipc.ts (the preload bundle must not import main-process code).
const IPC_INVOKE = 'studio:invoke'
const IPC_EVENT = 'studio:event'

type InvokeReply = { ok: true; result: unknown } | { ok: false; error: SerializedError }

const api: StudioApi = {
  async invoke(channel, args) {
    if (!isChannel(channel)) throw new Error(`unknown channel: ${String(channel)}`)
    const reply = (await ipcRenderer.invoke(IPC_INVOKE, channel, args)) as InvokeReply
    if (reply.ok) return reply.result as never
    // The catalogue's code and parameters (src/shared/messages) go along so the UI words it in its language.
    const error = Object.assign(new Error(reply.error.message), reply.error)
    error.name = reply.error.name
    throw error
  },
  on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void {
    if (!isEventName(event)) throw new Error(`unknown event: ${String(event)}`)
    // Wrap so the page never sees the IpcRendererEvent (it carries `sender`).
    const wrapped = (_e: IpcRendererEvent, message: { event: EventName; payload: unknown }): void => {
      if (message.event === event) listener(message.payload as Events[E])
    }
    ipcRenderer.on(IPC_EVENT, wrapped)
    return () => {
      ipcRenderer.removeListener(IPC_EVENT, wrapped)
    }
  },
  imageUrl(id, kind, version) {
    const v = version ? `?v=${encodeURIComponent(version)}` : ''
    return `${MEDIA_PROTOCOL}://${kind}/${Math.trunc(id)}${v}`
  }
}

contextBridge.exposeInMainWorld('api', api)
