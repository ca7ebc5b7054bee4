// The one place where an untrusted invoke (from the WebSocket or from Electron's ipcMain) is checked and
// routed to a backend handler. Both transports use it, so the allowlist and the error shape cannot drift.
// Here: the channel is on the allowlist and the arguments are one plain object; the handler then parses them
// with its channel's schema (src/main/backend/parse.ts) and refuses anything else as a ValidationError.
import { isChannel } from '../../shared/ipc'
import type { SerializedError } from '../../shared/types'
import type { Backend } from '../backend'
import { toUserError } from '../errors/userError'

/** The part of the backend that a transport needs (not `services` or `dispose`: the owner keeps those). */
export type ServedBackend = Pick<Backend, 'handlers' | 'on' | 'media' | 'uploads'>

/** A request the transport refused before it reached the backend (unknown channel, malformed args). */
export class BadRequestError extends Error {
  override name = 'BadRequestError'
}

/** True for `{...}` objects as JSON or structured clone produces them; arrays, null and class instances fail. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** Validate `channel` and `args`, then call the handler. Throws `BadRequestError` for refused requests. */
export async function dispatch(backend: ServedBackend, channel: unknown, args: unknown): Promise<unknown> {
  if (!isChannel(channel)) throw new BadRequestError(`unknown channel: ${describe(channel)}`)
  if (!isPlainObject(args)) throw new BadRequestError(`arguments of ${channel} must be a plain object`)
  const handler = backend.handlers[channel] as (args: unknown) => Promise<unknown>
  return handler(args)
}

/** HTTP status for a failed media request: the backend says "not found" in its message. */
export function mediaErrorStatus(error: unknown): number {
  const { name, message } = serializeError(error)
  return /NotFound/i.test(name) || /not found/i.test(message) ? 404 : 500
}

/**
 * Cache-Control of an image: a URL that names the content hash is that content for good (immutable); one
 * without it (an id, perhaps with the project's key) may show other bytes after a re-import, so revalidate.
 */
export function mediaCacheControl(immutable: boolean): string {
  return immutable ? 'private, max-age=31536000, immutable' : 'private, no-cache'
}

/**
 * Only name and message cross the boundary, as `toUserError` words them: SQLite and file errors as
 * sentences, bugs as "internal error" with an id (the detail goes to stderr), every message capped.
 */
export function serializeError(error: unknown): SerializedError {
  return toUserError(error)
}

function describe(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : typeof value
  return text.length > 60 ? `${text.slice(0, 60)}...` : text
}
