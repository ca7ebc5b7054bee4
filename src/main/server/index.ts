// `transfer-studio serve`: the backend over a local HTTP + WebSocket server, so the renderer can run in an
// ordinary browser (and tests can drive the real backend without Electron). Serves the built renderer at
// `/`, images at `/media/{thumb|full}/ID?v=VERSION&token=T` (VERSION: shared `mediaVersion`) and the IPC wire format of src/shared/ipc.ts at
// `/api?token=T`. Every endpoint except the static page needs the per-start token.
import { createReadStream, existsSync, statSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { extname, join, normalize, resolve, sep } from 'node:path'
import { WebSocketServer, WebSocket, type RawData } from 'ws'
import { EVENTS, type ServerMessage } from '../../shared/ipc'
import { CLIENT_HIGH_WATER_BYTES, MAX_FRAME_BYTES } from '../../shared/limits'
import { TooManyUploadsError, UploadTooLargeError } from '../uploads/uploadStore'
import type { Media } from '../library/mediaService'
import {
  BadRequestError,
  dispatch,
  mediaCacheControl,
  mediaErrorStatus,
  serializeError,
  type ServedBackend
} from './dispatch'
import {
  contentSecurityPolicy,
  isLoopbackHost,
  loopbackHosts,
  newToken,
  originAllowed,
  tokenMatches
} from './security'

export interface ServerOptions {
  backend: ServedBackend
  /** 0 picks a free port. */
  port?: number
  /** Interface to listen on; anything but loopback needs `allowRemote`. */
  host?: string
  /** Built renderer (out/renderer); without it `/` answers 404. */
  staticDir?: string
  /** Fixed token (tests); a random one otherwise. */
  token?: string
  /** Accept any Host header / same-host Origin, for serving on a non-loopback interface. */
  allowRemote?: boolean
}

export interface RunningServer {
  /** The page to open, token included: `http://127.0.0.1:PORT/?token=...`. */
  url: string
  port: number
  token: string
  /** Stops listening, closes every client and unsubscribes from the backend. */
  close(): Promise<void>
}

/** Requests one client may have in flight; past it (or past the high-water mark) its socket is not read. */
const MAX_IN_FLIGHT = 64
/** A client that lets this much of the server's output pile up unread is disconnected. */
const CLIENT_MAX_BUFFERED_BYTES = 8 * CLIENT_HIGH_WATER_BYTES

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.map': 'application/json'
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1'
  if (!isLoopbackHost(host) && !options.allowRemote) {
    throw new Error(`refusing to listen on non-loopback host ${host} without allowRemote`)
  }
  const token = options.token ?? newToken()
  const staticDir = options.staticDir ? resolve(options.staticDir) : undefined
  const { backend } = options
  let port = 0

  /** Host headers we answer to; remote mode accepts any (the token still guards every endpoint). */
  const hostAccepted = (hostHeader: string | undefined): hostHeader is string =>
    hostHeader !== undefined && (options.allowRemote === true || loopbackHosts(port).includes(hostHeader))

  const http = createServer((req, res) => {
    handleHttp(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', serializeError(error).message)
      else res.destroy()
    })
  })

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('X-Content-Type-Options', 'nosniff')
    // The token travels in URLs; never hand it to another site in a Referer.
    res.setHeader('Referrer-Policy', 'no-referrer')
    if (!hostAccepted(req.headers.host)) return send(res, 403, 'text/plain', 'forbidden host')
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (url.pathname === '/upload') return upload(req, res, url)
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(res, 405, 'text/plain', 'method not allowed')

    const media = /^\/media\/(thumb|full)\/([1-9]\d{0,14})$/.exec(url.pathname)
    if (media || url.pathname.startsWith('/media/')) {
      if (!tokenMatches(token, url.searchParams.get('token')))
        return send(res, 401, 'text/plain', 'unauthorized')
      if (!media) return send(res, 404, 'text/plain', 'not found')
      const id = Number(media[2])
      let image: Media
      try {
        image = await backend.media(media[1] as 'thumb' | 'full', id, url.searchParams.get('v') ?? undefined)
      } catch (error) {
        return send(res, mediaErrorStatus(error), 'text/plain; charset=utf-8', serializeError(error).message)
      }
      res.setHeader('Cache-Control', mediaCacheControl(image.immutable))
      return send(res, 200, image.mime, image.data, req.method === 'HEAD')
    }
    if (url.pathname === '/api') return send(res, 426, 'text/plain', 'upgrade required')
    return serveStatic(req, res, url.pathname)
  }

  /**
   * `POST /upload?token=T&name=N` with the file as the body: streamed to the backend's upload store, at most
   * its limit (413 past it, whether declared or counted), and answered with `{ "id": ... }` for an invoke.
   */
  async function upload(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const refuse = (status: number, text: string): void => {
      res.setHeader('Connection', 'close')
      send(res, status, 'text/plain; charset=utf-8', text)
      // Whatever of the body is still coming is not read.
      req.destroy()
    }
    if (req.method !== 'POST') return send(res, 405, 'text/plain', 'method not allowed')
    if (!tokenMatches(token, url.searchParams.get('token'))) return refuse(401, 'unauthorized')
    // The page's own scripts may upload; another site's may not, even with a leaked token.
    const accepted = options.allowRemote ? [req.headers.host as string] : loopbackHosts(port)
    if (req.headers.origin !== undefined && !originAllowed(req.headers.origin, accepted))
      return refuse(403, 'forbidden origin')
    const name = url.searchParams.get('name')?.trim()
    if (!name || name.length > 1000) return refuse(400, 'the upload needs a file name (?name=)')
    const length = req.headers['content-length']
    const declared = length === undefined ? undefined : Number(length)
    if (declared !== undefined && !Number.isSafeInteger(declared)) return refuse(400, 'bad Content-Length')
    try {
      const { id, bytes } = await backend.uploads.receive(req, name, declared)
      send(res, 200, 'application/json', JSON.stringify({ id, bytes }))
    } catch (error) {
      if (error instanceof UploadTooLargeError) return refuse(413, error.message)
      if (error instanceof TooManyUploadsError) return refuse(429, error.message)
      throw error
    }
  }

  function serveStatic(req: IncomingMessage, res: ServerResponse, pathname: string): void {
    res.setHeader('Content-Security-Policy', contentSecurityPolicy(port, extraSocketHosts(req)))
    if (!staticDir) return send(res, 404, 'text/plain', 'the renderer is not built (run `npm run build`)')
    let relative: string
    try {
      relative = decodeURIComponent(pathname)
    } catch {
      return send(res, 400, 'text/plain', 'bad path')
    }
    if (relative.endsWith('/')) relative += 'index.html'
    const file = normalize(join(staticDir, relative))
    // Never serve anything outside the renderer folder, whatever `..` or encoding the path uses.
    if (file !== staticDir && !file.startsWith(staticDir + sep))
      return send(res, 403, 'text/plain', 'forbidden')
    if (!existsSync(file) || !statSync(file).isFile()) return send(res, 404, 'text/plain', 'not found')
    res.writeHead(200, {
      'Content-Type': MIME[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'Cache-Control': 'no-cache'
    })
    if (req.method === 'HEAD') return void res.end()
    createReadStream(file).pipe(res)
  }

  /** In remote mode the page's own host must be allowed to open the socket too. */
  function extraSocketHosts(req: IncomingMessage): string[] {
    const h = req.headers.host
    return options.allowRemote && h && !loopbackHosts(port).includes(h) ? [h] : []
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES })

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const refuse = (status: number, text: string): void => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    }
    if (url.pathname !== '/api') return refuse(404, 'Not Found')
    if (!hostAccepted(req.headers.host)) return refuse(403, 'Forbidden')
    const accepted = options.allowRemote ? [req.headers.host as string] : loopbackHosts(port)
    if (!originAllowed(req.headers.origin, accepted)) return refuse(403, 'Forbidden')
    if (!tokenMatches(token, url.searchParams.get('token'))) return refuse(401, 'Unauthorized')
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req))
  })

  wss.on('connection', (ws: WebSocket) => {
    const client: Client = { inFlight: 0 }
    clients.set(ws, client)
    // A frame `ws` cannot accept (invalid UTF-8, over the size limit, a protocol error) is an 'error' on
    // this socket: `ws` then closes it with the matching code (1007, 1009, 1002). Without a listener the
    // error would be thrown and end the whole server, with the training it runs.
    ws.on('error', () => setTimeout(() => ws.terminate(), 1000).unref())
    ws.on('close', () => {
      clearInterval(client.drain)
      clients.delete(ws)
    })
    ws.on('message', (data: RawData, isBinary: boolean) => {
      client.inFlight++
      throttle(ws, client)
      void handleMessage(ws, data, isBinary).finally(() => {
        client.inFlight--
        throttle(ws, client)
      })
    })
  })

  /** Per-client backpressure state. */
  interface Client {
    inFlight: number
    /** Polls the client's unread output while it is over the high-water mark. */
    drain?: NodeJS.Timeout
  }
  const clients = new Map<WebSocket, Client>()

  /**
   * Backpressure: a client with too many requests in flight, or too much of our output unread, is not read
   * until both go down, so a client that sends without reading cannot make the server buffer without end.
   */
  function throttle(ws: WebSocket, client: Client): void {
    if (ws.readyState !== WebSocket.OPEN) return
    const unread = ws.bufferedAmount > CLIENT_HIGH_WATER_BYTES
    const busy = client.inFlight >= MAX_IN_FLIGHT || unread
    if (busy && !ws.isPaused) ws.pause()
    else if (!busy && ws.isPaused) ws.resume()
    // `ws` has no drain event of its own: look again while the client has not read what waits for it.
    if (unread && !client.drain) {
      client.drain = setInterval(() => {
        if (ws.readyState === WebSocket.OPEN && ws.bufferedAmount > CLIENT_HIGH_WATER_BYTES / 2) return
        clearInterval(client.drain)
        client.drain = undefined
        throttle(ws, client)
      }, 20)
      client.drain.unref()
    }
  }

  /** Sends, or drops the client when its unread output has passed what any reading client leaves. */
  function deliver(ws: WebSocket, text: string): void {
    if (ws.readyState !== WebSocket.OPEN) return
    if (ws.bufferedAmount + text.length > CLIENT_MAX_BUFFERED_BYTES) {
      ws.close(1008, 'the client does not read its messages')
      // A client that does not read will not read the close frame either.
      setTimeout(() => ws.terminate(), 1000).unref()
      return
    }
    ws.send(text)
  }

  async function handleMessage(ws: WebSocket, data: RawData, isBinary: boolean): Promise<void> {
    let id = -1
    let reply: ServerMessage
    try {
      if (isBinary) throw new BadRequestError('messages must be JSON text')
      let message: unknown
      try {
        message = JSON.parse(data.toString())
      } catch {
        throw new BadRequestError('message is not valid JSON')
      }
      const m = message as { type?: unknown; id?: unknown; channel?: unknown; args?: unknown }
      if (typeof m !== 'object' || m === null) throw new BadRequestError('message must be an object')
      if (Number.isSafeInteger(m.id)) id = m.id as number
      if (m.type !== 'invoke') throw new BadRequestError('unknown message type')
      if (id < 0) throw new BadRequestError('invoke needs a non-negative integer id')
      reply = { type: 'result', id, ok: true, result: await dispatch(backend, m.channel, m.args) }
    } catch (error) {
      reply = { type: 'result', id, ok: false, error: serializeError(error) }
    }
    deliver(ws, JSON.stringify(reply))
  }

  // One subscription per event for the whole server, fanned out to every client.
  const unsubscribers = EVENTS.map((event) =>
    backend.on(event, (payload: unknown) => {
      const text = JSON.stringify({ type: 'event', event, payload } satisfies ServerMessage)
      for (const client of wss.clients) deliver(client, text)
    })
  )

  try {
    await new Promise<void>((resolveListen, rejectListen) => {
      http.once('error', rejectListen)
      http.listen(options.port ?? 0, host, () => {
        http.off('error', rejectListen)
        resolveListen()
      })
    })
  } catch (error) {
    for (const off of unsubscribers) off()
    throw error
  }
  port = (http.address() as AddressInfo).port
  const shownHost = isLoopbackHost(host) ? '127.0.0.1' : host

  let closed: Promise<void> | undefined
  return {
    url: `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}/?token=${token}`,
    port,
    token,
    close() {
      closed ??= new Promise<void>((done) => {
        for (const off of unsubscribers) off()
        for (const client of wss.clients) client.terminate()
        wss.close()
        http.close(() => done())
        http.closeAllConnections()
      })
      return closed
    }
  }
}

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  headOnly = false
): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) })
  res.end(headOnly ? undefined : body)
}
