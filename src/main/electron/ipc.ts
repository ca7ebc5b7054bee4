// Electron transport of the IPC contract: `ipcMain.handle('invoke')` for requests, `webContents.send` for
// events, and the `studio-media://` protocol for images. Holds no logic: the allowlist and the error
// shape come from server/dispatch.ts, shared with `transfer-studio serve`.
import { BrowserWindow, ipcMain, protocol, type IpcMainInvokeEvent, type WebFrameMain } from 'electron'
import { EVENTS, MEDIA_PROTOCOL } from '../../shared/ipc'
import type { SerializedError } from '../../shared/types'
import {
  dispatch,
  mediaCacheControl,
  mediaErrorStatus,
  serializeError,
  type ServedBackend
} from '../server/dispatch'

/** Channel names on Electron's own IPC; the preload uses the same strings. */
export const IPC_INVOKE = 'studio:invoke'
export const IPC_EVENT = 'studio:event'

/** What crosses `ipcMain.handle`: Electron would mangle a thrown error's name, so errors travel as data. */
export type InvokeReply = { ok: true; result: unknown } | { ok: false; error: SerializedError }

/**
 * Bind the backend to Electron's IPC. `isTrusted` decides whether a frame (by its URL) is our renderer;
 * anything else is refused. Returns the disposer that unbinds everything.
 */
export function bindIpc(
  backend: ServedBackend,
  isTrusted: (frame: WebFrameMain | null) => boolean
): () => void {
  ipcMain.handle(IPC_INVOKE, async (event: IpcMainInvokeEvent, channel: unknown, args: unknown) => {
    if (!isTrusted(event.senderFrame)) {
      return {
        ok: false,
        error: { name: 'SecurityError', message: 'untrusted sender' }
      } satisfies InvokeReply
    }
    try {
      return { ok: true, result: await dispatch(backend, channel, args) } satisfies InvokeReply
    } catch (error) {
      return { ok: false, error: serializeError(error) } satisfies InvokeReply
    }
  })
  const unsubscribers = EVENTS.map((name) =>
    backend.on(name, (payload: unknown) => {
      for (const win of BrowserWindow.getAllWindows()) {
        if (!win.isDestroyed()) win.webContents.send(IPC_EVENT, { event: name, payload })
      }
    })
  )
  return () => {
    ipcMain.removeHandler(IPC_INVOKE)
    for (const off of unsubscribers) off()
  }
}

/** Must run before `app.ready`: lets `<img src="studio-media://thumb/12">` load under the CSP. */
export function registerMediaScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: MEDIA_PROTOCOL, privileges: { standard: true, secure: true, supportFetchAPI: true } }
  ])
}

/** Serve `studio-media://{thumb|full}/ID?v=VERSION` from the backend (the same key as the server's URLs). */
export function handleMediaProtocol(backend: ServedBackend): () => void {
  protocol.handle(MEDIA_PROTOCOL, async (request) => {
    const url = new URL(request.url)
    const id = Number(url.pathname.replace(/^\//, ''))
    if ((url.host !== 'thumb' && url.host !== 'full') || !Number.isSafeInteger(id) || id < 0) {
      return new Response('not found', { status: 404 })
    }
    try {
      const image = await backend.media(url.host, id, url.searchParams.get('v') ?? undefined)
      return new Response(new Uint8Array(image.data), {
        headers: { 'Content-Type': image.mime, 'Cache-Control': mediaCacheControl(image.immutable) }
      })
    } catch (error) {
      return new Response(serializeError(error).message, { status: mediaErrorStatus(error) })
    }
  })
  return () => protocol.unhandle(MEDIA_PROTOCOL)
}
