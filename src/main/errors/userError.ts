// What an error says once it leaves the backend: to a client over IPC or the WebSocket (server/dispatch.ts
// `serializeError`), into a run's or an import's record, or into a progress event. The errors our code throws
// on purpose (ValidationError, NotFoundError, HubError, a deliberate `new Error('...')`) keep their name and
// words; SQLite and file-system errors become plain sentences (a file system error names the base name of
// its path only); anything else — a TypeError, a thrown string, an SQLite constraint failure — is a bug, so
// the client gets "internal error" and a short id while the detail (stack included) goes to stderr under
// that id. Every message is capped, so a 40 KB error string never reaches a client or a database row.
// Each sentence comes from the catalogue (src/shared/messages) and carries its `code` and `params`, so the
// renderer words it in the user's language; so does a CodedError thrown by a service.
import { randomBytes } from 'node:crypto'
import { basename } from 'node:path'
import { formatMessage, isMessageKey, type MessageKey } from '../../shared/messages'
import type { SerializedError } from '../../shared/types'
import { codeOf } from '../errors'

/** The longest message that leaves the backend, in characters (the cut one ends with an ellipsis). */
export const MAX_MESSAGE_LENGTH = 500

/** Where the detail of an internal error goes; stderr unless a caller (a test) passes its own. */
export type ErrorLog = (line: string, error: unknown) => void

export interface UserErrorOptions {
  log?: ErrorLog
}

const stderrLog: ErrorLog = (line, error) => console.error(line, error)

/** The error as a client may see it: `{ name, message }`, mapped and capped (see the header). */
export function toUserError(error: unknown, opts: UserErrorOptions = {}): SerializedError {
  const log = opts.log ?? stderrLog
  if (!(error instanceof Error)) return internal(error, log)
  const code = (error as NodeJS.ErrnoException).code
  if (error.name === 'SqliteError') {
    const key = sqliteKey(typeof code === 'string' ? code : sqliteCodeOf(error.message))
    return key ? coded('DatabaseError', key) : internal(error, log)
  }
  if (typeof code === 'string' && isSystemError(error)) {
    const sentence = fsSentence(code, (error as NodeJS.ErrnoException).path)
    return sentence ? coded('FileError', sentence.key, sentence.params) : internal(error, log)
  }
  // Node's own argument errors (`ERR_INVALID_ARG_TYPE`) and the language's errors are bugs; so are they
  // when they crossed from a child process as a plain Error that kept only its name.
  if ((typeof code === 'string' && code.startsWith('ERR_')) || BUG_NAMES.has(error.name))
    return internal(error, log)
  const out: SerializedError = {
    name: cleanName(error.name),
    message: cap(withoutStack(error.message) || cleanName(error.name))
  }
  const c = codeOf(error)
  if (c && isMessageKey(c.code)) {
    out.code = c.code
    out.params = capParams(c.params)
  }
  return out
}

/**
 * An error as the `{reason}` of a coded message: its English text, and its own code and parameters so the
 * renderer words the reason in the user's language too (`reasonCode`, `reasonParams` as JSON).
 */
export function reasonOf(
  error: unknown,
  opts: UserErrorOptions = {}
): { reason: string } & Record<string, string> {
  const e = toUserError(error, opts)
  return e.code
    ? { reason: e.message, reasonCode: e.code, reasonParams: JSON.stringify(e.params ?? {}) }
    : { reason: e.message }
}

/** A serialized error rebuilt as an Error that keeps its code (a child process's, a stored one). */
export function fromUserError(e: SerializedError): Error {
  return Object.assign(new Error(e.message), {
    name: e.name,
    ...(e.code ? { messageKey: e.code, messageParams: e.params ?? {} } : {})
  })
}

/** A stored failure (a run's `error` column): JSON of the serialized error, or the plain text of old rows. */
export function encodeStoredError(e: SerializedError): string {
  return e.code ? JSON.stringify({ message: e.message, code: e.code, params: e.params ?? {} }) : e.message
}

/** The message, code and parameters of a stored failure (see `encodeStoredError`). */
export function decodeStoredError(text: string): {
  message: string
  code?: string
  params?: Record<string, string | number>
} {
  if (text.startsWith('{')) {
    try {
      const v = JSON.parse(text) as { message?: unknown; code?: unknown; params?: unknown }
      if (typeof v.message === 'string' && typeof v.code === 'string')
        return {
          message: v.message,
          code: v.code,
          params: (v.params ?? {}) as Record<string, string | number>
        }
    } catch {
      // An old row that happens to start with a brace: its text is the message.
    }
  }
  return { message: text }
}

function coded(name: string, key: MessageKey, params: Record<string, string | number> = {}): SerializedError {
  return { name, message: cap(formatMessage(key, params)), code: key, params: capParams(params) }
}

function capParams(params: Record<string, string | number>): Record<string, string | number> {
  const out: Record<string, string | number> = {}
  for (const [k, v] of Object.entries(params).slice(0, 16))
    out[k] = typeof v === 'number' ? v : cap(withoutStack(String(v)), 300)
  return out
}

/** Only the message of `toUserError`: for a run's `error` column, an import's summary, a progress event. */
export function userMessage(error: unknown, opts: UserErrorOptions = {}): string {
  return toUserError(error, opts).message
}

/** `text` cut to `max` characters, the cut marked with an ellipsis. */
export function cap(text: string, max = MAX_MESSAGE_LENGTH): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}

const BUG_NAMES = new Set([
  'TypeError',
  'RangeError',
  'ReferenceError',
  'SyntaxError',
  'EvalError',
  'URIError',
  'AggregateError'
])

function internal(error: unknown, log: ErrorLog): SerializedError {
  const id = randomBytes(4).toString('hex')
  try {
    log(`internal error ${id}:`, error)
  } catch {
    // A broken log must not turn one error into another.
  }
  return coded('InternalError', 'internal', { id })
}

/** An error from a Node system call: `code` like `ENOENT` together with `syscall` or `errno`. */
function isSystemError(error: Error): boolean {
  const e = error as NodeJS.ErrnoException
  return /^E[A-Z0-9]+$/.test(e.code ?? '') && (typeof e.syscall === 'string' || typeof e.errno === 'number')
}

// The primary result code is all a user needs: SQLITE_READONLY_DBMOVED reads as SQLITE_READONLY.
const SQLITE_KEYS: Record<string, MessageKey> = {
  SQLITE_BUSY: 'sqlite.busy',
  SQLITE_LOCKED: 'sqlite.busy',
  SQLITE_READONLY: 'sqlite.readonly',
  SQLITE_CORRUPT: 'sqlite.corrupt',
  SQLITE_NOTADB: 'sqlite.notadb',
  SQLITE_FULL: 'sqlite.full',
  SQLITE_IOERR: 'sqlite.ioerr',
  SQLITE_CANTOPEN: 'sqlite.cantopen',
  SQLITE_PERM: 'sqlite.perm',
  SQLITE_AUTH: 'sqlite.perm',
  SQLITE_NOMEM: 'sqlite.nomem',
  SQLITE_TOOBIG: 'sqlite.toobig',
  SQLITE_INTERRUPT: 'sqlite.interrupt',
  SQLITE_PROTOCOL: 'sqlite.busy'
}

// The extended codes that say more than their primary one.
const SQLITE_EXTENDED: Record<string, MessageKey> = {
  // WAL needs its -shm file beside the project, even to read: a read-only folder stops it.
  SQLITE_READONLY_DIRECTORY: 'sqlite.readonlyDirectory',
  SQLITE_READONLY_CANTINIT: 'sqlite.readonlyCantinit',
  SQLITE_READONLY_DBMOVED: 'sqlite.readonlyDbmoved'
}

function sqliteKey(code: string | null): MessageKey | null {
  if (!code) return null
  const primary = code.split('_').slice(0, 2).join('_')
  return SQLITE_EXTENDED[code] ?? SQLITE_KEYS[primary] ?? null
}

// SQLite's own texts for its codes, for a SqliteError that crossed a process boundary without its `code`.
const SQLITE_TEXTS: [RegExp, string][] = [
  [/database is locked/i, 'SQLITE_BUSY'],
  [/database table is locked/i, 'SQLITE_LOCKED'],
  [/readonly database/i, 'SQLITE_READONLY'],
  [/database disk image is malformed/i, 'SQLITE_CORRUPT'],
  [/file is not a database/i, 'SQLITE_NOTADB'],
  [/database or disk is full/i, 'SQLITE_FULL'],
  [/disk I\/O error/i, 'SQLITE_IOERR'],
  [/unable to open database file/i, 'SQLITE_CANTOPEN']
]

function sqliteCodeOf(message: string): string | null {
  return SQLITE_TEXTS.find(([re]) => re.test(message))?.[1] ?? null
}

// Each code has a sentence naming the file and one for an error without a path.
const FS_KEYS: Record<string, [MessageKey, MessageKey]> = {
  ENOENT: ['fs.notFound', 'fs.notFoundAnon'],
  EACCES: ['fs.permission', 'fs.permissionAnon'],
  EPERM: ['fs.permission', 'fs.permissionAnon'],
  EISDIR: ['fs.isDir', 'fs.isDirAnon'],
  ENOTDIR: ['fs.notDir', 'fs.notDirAnon'],
  ENOSPC: ['fs.full', 'fs.fullAnon'],
  EDQUOT: ['fs.full', 'fs.fullAnon'],
  EEXIST: ['fs.exists', 'fs.existsAnon'],
  EROFS: ['fs.readOnly', 'fs.readOnlyAnon'],
  EBUSY: ['fs.busy', 'fs.busyAnon'],
  EMFILE: ['fs.tooManyFiles', 'fs.tooManyFiles'],
  ENFILE: ['fs.tooManyFiles', 'fs.tooManyFiles'],
  ENAMETOOLONG: ['fs.nameTooLong', 'fs.nameTooLong'],
  ELOOP: ['fs.loop', 'fs.loopAnon'],
  ENOTEMPTY: ['fs.notEmpty', 'fs.notEmptyAnon'],
  EIO: ['fs.io', 'fs.ioAnon']
}

function fsSentence(
  code: string,
  path: string | undefined
): { key: MessageKey; params: Record<string, string> } | null {
  const keys = FS_KEYS[code]
  if (!keys) return null
  // The base name is enough to recognise the file; the full path says where the user's files live.
  const name = path ? cap(basename(path), 120) : null
  return name ? { key: keys[0], params: { name } } : { key: keys[1], params: {} }
}

/** A name fit for the contract (`NotFoundError`), else plain `Error`. */
function cleanName(name: string): string {
  return /^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(name) ? name : 'Error'
}

/** The message without any stack lines pasted into it (`    at f (file.ts:1:2)`). */
function withoutStack(message: string): string {
  return message
    .split('\n')
    .filter((line) => !/^\s+at\s/.test(line))
    .join('\n')
    .trim()
}
