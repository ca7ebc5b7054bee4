// Where the renderer gets its StudioApi: the preload's `window.api` inside Electron, otherwise a WebSocket
// client to the server that served this page (token in `?token=`). Only Pinia stores call it.
import type { StudioApi } from '@shared/ipc'
import { MEDIA_PROTOCOL } from '@shared/ipc'
import { createWsApi, type ConnectionState, type WsApi } from './ws'

export { createWsApi, RemoteError, type WsApi, type ConnectionState } from './ws'

let current: StudioApi | null = null

/** The API for this page; created once. */
export function getApi(): StudioApi {
  if (current) return current
  if (typeof window !== 'undefined' && window.api) {
    current = withMediaUrls(window.api)
  } else {
    const token = new URLSearchParams(location.search).get('token') ?? ''
    current = createWsApi(location.origin, token)
  }
  return current
}

/** Replace the API (tests feed stores an in-memory implementation). */
export function setApi(api: StudioApi | null): void {
  current = api
}

/** True when the API reports connection state (the WebSocket client does; the preload has no need). */
export function hasConnection(api: StudioApi): api is WsApi {
  return typeof (api as Partial<WsApi>).onConnection === 'function'
}

export type { ConnectionState as ApiConnectionState }

// The preload may not implement imageUrl itself (functions crossing contextBridge are fine, but a
// missing one would break every <img>), so fall back to the custom protocol the main process registers.
function withMediaUrls(api: StudioApi): StudioApi {
  if (typeof api.imageUrl === 'function') return api
  return {
    invoke: (c, a) => api.invoke(c, a),
    on: (e, l) => api.on(e, l),
    imageUrl: (id, kind) => `${MEDIA_PROTOCOL}://${kind}/${id}`
  }
}
