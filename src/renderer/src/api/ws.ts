// WebSocket client for `transfer-studio serve`: implements StudioApi over the wire format in
// `@shared/ipc` so the same renderer runs in a plain browser (and in the end-to-end tests).
// It does not reconnect: a lost connection rejects pending calls and is reported to the UI.
import type {
  Channel,
  ClientMessage,
  EventName,
  Events,
  HandlerArgs,
  HandlerResult,
  ServerMessage,
  StudioApi
} from '@shared/ipc'
import type { SerializedError } from '@shared/types'
import { createEmitter } from '@shared/emitter'
import { MAX_FRAME_BYTES, MAX_UPLOAD_BYTES } from '@shared/limits'

export type ConnectionState = 'connecting' | 'open' | 'closed'

/**
 * `reason` of a closed connection when the page's URL has no `?token=`: no socket is opened, since none
 * could be accepted, and reloading cannot help; the UI says where the full URL is printed instead.
 */
export const TOKEN_MISSING = 'token-missing'
/**
 * `reason` when the server refused the token: typically the URL of an earlier start (each start of the
 * server makes a new token), so again only the newly printed URL helps.
 */
export const TOKEN_REJECTED = 'token-rejected'

/** A StudioApi that also reports the state of its connection. */
export interface WsApi extends StudioApi {
  onConnection(listener: (state: ConnectionState, reason?: string) => void): () => void
  close(): void
}

/** An Error carrying the `name` the server gave it, so callers can tell kinds apart. */
export class RemoteError extends Error {
  /** The catalogue key of the message (src/shared/messages), when the backend worded it from there. */
  readonly code?: string
  readonly params?: Record<string, string | number>
  constructor(error: SerializedError) {
    super(error.message)
    this.name = error.name
    if (typeof error.code === 'string') {
      this.code = error.code
      this.params = error.params ?? {}
    }
  }
}

interface Pending {
  resolve: (value: unknown) => void
  reject: (error: Error) => void
}

/**
 * `url` is the page's origin (`http://127.0.0.1:PORT`); the socket goes to `/api?token=`, images to
 * `/media/{kind}/ID?token=`.
 */
export function createWsApi(url: string, token: string): WsApi {
  const base = new URL(url)
  const wsUrl = `${base.protocol === 'https:' ? 'wss:' : 'ws:'}//${base.host}/api?token=${encodeURIComponent(token)}`
  // Without a token the server refuses the socket (HTTP 401, which a browser reports only as code 1006).
  const socket = token ? new WebSocket(wsUrl) : null
  const pending = new Map<number, Pending>()
  const events = createEmitter<Events>()
  const connection = createEmitter<{ change: { state: ConnectionState; reason?: string } }>()
  let state: ConnectionState = socket ? 'connecting' : 'closed'
  let closedReason: string | undefined = socket ? undefined : TOKEN_MISSING
  let opened = false
  let nextId = 1
  // Calls made before the socket opens wait here instead of failing.
  const queue: string[] = []

  function setState(next: ConnectionState, reason?: string): void {
    state = next
    closedReason = reason
    connection.emit('change', { state: next, reason })
  }

  function failAll(reason: string): void {
    for (const p of pending.values()) p.reject(new RemoteError({ name: 'ConnectionError', message: reason }))
    pending.clear()
  }

  /** After a socket that never opened: was it the token? The media path answers 401 for a wrong one. */
  async function tokenRefused(): Promise<boolean> {
    try {
      const res = await fetch(`${base.origin}/media/token-check?token=${encodeURIComponent(token)}`)
      return res.status === 401
    } catch {
      return false // the server is not there at all: the plain reason says so
    }
  }

  socket?.addEventListener('open', () => {
    opened = true
    setState('open')
    for (const msg of queue.splice(0)) socket.send(msg)
  })
  socket?.addEventListener('close', (ev) => {
    const reason = ev.reason || `connection closed (code ${ev.code})`
    failAll(reason)
    setState('closed', reason)
    if (!opened) void tokenRefused().then((refused) => refused && setState('closed', TOKEN_REJECTED))
  })
  socket?.addEventListener('message', (ev) => {
    let msg: ServerMessage
    try {
      msg = JSON.parse(String(ev.data)) as ServerMessage
    } catch {
      return
    }
    if (msg.type === 'result') {
      const p = pending.get(msg.id)
      if (!p) return
      pending.delete(msg.id)
      if (msg.ok) p.resolve(msg.result)
      else p.reject(new RemoteError(msg.error))
    } else if (msg.type === 'event') {
      // The server sends only the contract's events; the payload's type is the server's word for it.
      events.emit(msg.event, msg.payload as Events[EventName])
    }
  })

  return {
    invoke<C extends Channel>(channel: C, args: HandlerArgs<C>): Promise<HandlerResult<C>> {
      if (state === 'closed') {
        return Promise.reject(
          new RemoteError({ name: 'ConnectionError', message: 'not connected to the backend' })
        )
      }
      const id = nextId++
      const message: ClientMessage = { type: 'invoke', id, channel, args }
      return new Promise<HandlerResult<C>>((resolve, reject) => {
        const text = JSON.stringify(message)
        // The server closes a socket that sends more than a frame; refuse here instead, with a reason.
        // (UTF-16 length is a lower bound of the UTF-8 bytes; exact only when it matters.)
        if (text.length > MAX_FRAME_BYTES / 3 && new Blob([text]).size > MAX_FRAME_BYTES) {
          reject(
            new RemoteError({ name: 'RequestTooLargeError', message: 'the request is too large to send' })
          )
          return
        }
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
        if (state === 'open') socket?.send(text)
        else queue.push(text)
      })
    },
    on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void {
      return events.on(event, listener)
    },
    imageUrl(id: number, kind: 'thumb' | 'full', version?: string): string {
      const v = version ? `v=${encodeURIComponent(version)}&` : ''
      return `${base.origin}/media/${kind}/${id}?${v}token=${encodeURIComponent(token)}`
    },
    async upload(file: Blob, name: string): Promise<string> {
      if (file.size > MAX_UPLOAD_BYTES) {
        throw new RemoteError({
          name: 'UploadTooLargeError',
          message: `${name} is larger than the ${MAX_UPLOAD_BYTES / 1024 / 1024} MB a file may be`
        })
      }
      const target = `${base.origin}/upload?token=${encodeURIComponent(token)}&name=${encodeURIComponent(name)}`
      const res = await fetch(target, { method: 'POST', body: file })
      if (!res.ok) {
        const text = (await res.text().catch(() => '')).slice(0, 500)
        throw new RemoteError({ name: 'UploadError', message: text || `upload failed (HTTP ${res.status})` })
      }
      return ((await res.json()) as { id: string }).id
    },
    onConnection(listener) {
      const off = connection.on('change', (c) => listener(c.state, c.reason))
      listener(state, closedReason)
      return off
    },
    close() {
      socket?.close()
    }
  }
}
