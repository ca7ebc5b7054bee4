// Errors the backend's services and its IPC boundary throw on purpose. `name`, `message` and, for a message
// from the catalogue (src/shared/messages), its `code` and `params` cross the boundary
// (src/main/server/dispatch.ts `serializeError`), so the names are part of the contract: the server answers
// 404 for a NotFoundError, the UI tells a refused argument from a failed operation, and shows a coded
// message in the user's language.
import { formatMessage, type MessageKey, type MessageParams, type PlainKey } from '../shared/messages'

/** An argument broke the contract: `<channel>: <path>: <what is wrong>`. */
export class ValidationError extends Error {
  override name = 'ValidationError'
}

/** A thing named by an argument (image, class, run) does not exist; the server answers 404. */
export class NotFoundError extends Error {
  override name = 'NotFoundError'
}

/** The arguments after a key: none for a message without parameters, else exactly its parameters. */
export type CodedArgs<K extends MessageKey> = K extends PlainKey ? [] : [params: MessageParams<K>]

/**
 * An error worded from the catalogue: `message` is the English text, `messageKey`/`messageParams` let a
 * client word it in its own language. (Not `code`: Node's system errors and HubError use that already.)
 */
export class CodedError extends Error {
  readonly messageKey: MessageKey
  readonly messageParams: Record<string, string | number>
  constructor(key: MessageKey, params: Record<string, string | number> = {}, name = 'Error') {
    super(formatMessage(key, params))
    this.name = name
    this.messageKey = key
    this.messageParams = params
  }
}

/** `new CodedError` with its parameters checked against the catalogue's English template. */
export function messageError<K extends MessageKey>(key: K, ...args: CodedArgs<K>): CodedError {
  return new CodedError(key, (args[0] ?? {}) as Record<string, string | number>)
}

/** The same as a NotFoundError (the server's 404). */
export function notFoundError<K extends MessageKey>(key: K, ...args: CodedArgs<K>): CodedError {
  return new CodedError(key, (args[0] ?? {}) as Record<string, string | number>, 'NotFoundError')
}

/** The same as a ValidationError. */
export function validationError<K extends MessageKey>(key: K, ...args: CodedArgs<K>): CodedError {
  return new CodedError(key, (args[0] ?? {}) as Record<string, string | number>, 'ValidationError')
}

/** `error` (of its own class, for its name) worded from the catalogue: its message becomes the English text. */
export function withCode<E extends Error, K extends MessageKey>(error: E, key: K, ...args: CodedArgs<K>): E {
  const params = (args[0] ?? {}) as Record<string, string | number>
  error.message = formatMessage(key, params)
  return Object.assign(error, { messageKey: key, messageParams: params })
}

/** The catalogue key and parameters an error carries (a CodedError, or one rebuilt from another process). */
export function codeOf(error: unknown): { code: MessageKey; params: Record<string, string | number> } | null {
  if (!error || typeof error !== 'object') return null
  const e = error as { messageKey?: unknown; messageParams?: unknown }
  if (typeof e.messageKey !== 'string') return null
  const params = e.messageParams && typeof e.messageParams === 'object' ? e.messageParams : {}
  return { code: e.messageKey as MessageKey, params: params as Record<string, string | number> }
}
