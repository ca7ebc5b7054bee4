// Where the renderer gets its StudioApi: the preload's `window.api` inside Electron, otherwise a WebSocket
// client to the server that served this page (token in `?token=`). Only Pinia stores call it.
import type { StudioApi } from '@shared/ipc'
import { createWsApi, type ConnectionState, type WsApi } from './ws'

export {
  createWsApi,
  RemoteError,
  TOKEN_MISSING,
  TOKEN_REJECTED,
  type WsApi,
  type ConnectionState
} from './ws'

let current: StudioApi | null = null

/** The API for this page; created once. */
export function getApi(): StudioApi {
  if (current) return current
  if (typeof window !== 'undefined' && window.api) {
    current = window.api
  } else {
    const token = new URLSearchParams(location.search).get('token') ?? ''
    current = createWsApi(location.origin, token)
  }
  return current
}

/** Replace the API (tests feed stores one over the real backend, test/renderer/backend/realApi.ts). */
export function setApi(api: StudioApi | null): void {
  current = api
}

/** True when the API reports connection state (the WebSocket client does; the preload has no need). */
export function hasConnection(api: StudioApi): api is WsApi {
  return typeof (api as Partial<WsApi>).onConnection === 'function'
}

export type { ConnectionState as ApiConnectionState }
