// What an error says once it leaves the backend: to a client over IPC or the WebSocket (server/dispatch.ts
// `serializeError`), into a run's or an import's record, or into a progress event. The errors our code throws
// on purpose (ValidationError, NotFoundError, HubError, a deliberate `new Error('...')`) keep their name and
// words; SQLite and file-system errors become plain sentences (a file system error names the base name of
// its path only); anything else — a TypeError, a thrown string, an SQLite constraint failure — is a bug, so
// the client gets "internal error" and a short id while the detail (stack included) goes to stderr under
// that id. Every message is capped, so a 40 KB error string never reaches a client or a database row.
import { randomBytes } from 'node:crypto'
import { basename } from 'node:path'
import type { SerializedError } from '../../shared/types'

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
    const sentence = sqliteSentence(typeof code === 'string' ? code : sqliteCodeOf(error.message))
    return sentence ? { name: 'DatabaseError', message: sentence } : internal(error, log)
  }
  if (typeof code === 'string' && isSystemError(error)) {
    const sentence = fsSentence(code, (error as NodeJS.ErrnoException).path)
    return sentence ? { name: 'FileError', message: sentence } : internal(error, log)
  }
  // Node's own argument errors (`ERR_INVALID_ARG_TYPE`) and the language's errors are bugs; so are they
  // when they crossed from a child process as a plain Error that kept only its name.
  if ((typeof code === 'string' && code.startsWith('ERR_')) || BUG_NAMES.has(error.name))
    return internal(error, log)
  return { name: cleanName(error.name), message: cap(withoutStack(error.message) || cleanName(error.name)) }
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
  return { name: 'InternalError', message: `internal error (id ${id}); the details are in the app's log` }
}

/** An error from a Node system call: `code` like `ENOENT` together with `syscall` or `errno`. */
function isSystemError(error: Error): boolean {
  const e = error as NodeJS.ErrnoException
  return /^E[A-Z0-9]+$/.test(e.code ?? '') && (typeof e.syscall === 'string' || typeof e.errno === 'number')
}

// The primary result code is all a user needs: SQLITE_READONLY_DBMOVED reads as SQLITE_READONLY.
const SQLITE_SENTENCES: Record<string, string> = {
  SQLITE_BUSY: 'the project is busy in another program; try again',
  SQLITE_LOCKED: 'the project is busy in another program; try again',
  SQLITE_READONLY:
    'the project is open read-only (its file or folder cannot be written); copy it or change its permissions to make changes',
  SQLITE_CORRUPT: 'the project file is damaged; restore it from a backup',
  SQLITE_NOTADB: 'not a Transfer Studio project (the file is not an SQLite database)',
  SQLITE_FULL: 'the disk is full; free some space and try again',
  SQLITE_IOERR: 'the project file could not be read or written (a disk error); check the disk and try again',
  SQLITE_CANTOPEN: 'the project file cannot be opened; check that it and its folder exist and can be read',
  SQLITE_PERM: 'permission denied: the project file cannot be changed',
  SQLITE_AUTH: 'permission denied: the project file cannot be changed',
  SQLITE_NOMEM: 'out of memory while working on the project; close other programs and try again',
  SQLITE_TOOBIG: 'a value is too large to store in the project',
  SQLITE_INTERRUPT: 'the operation was interrupted; try again',
  SQLITE_PROTOCOL: 'the project is busy in another program; try again'
}

// The extended codes that say more than their primary one.
const SQLITE_EXTENDED: Record<string, string> = {
  // WAL needs its -shm file beside the project, even to read: a read-only folder stops it.
  SQLITE_READONLY_DIRECTORY:
    "the project's folder cannot be written, and SQLite needs to keep its lock files beside the project; copy the project to a folder you can write",
  SQLITE_READONLY_CANTINIT:
    "the project's lock file (-shm) cannot be written; copy the project to a folder you can write",
  SQLITE_READONLY_DBMOVED: 'the project file was moved or deleted while open; open it again'
}

function sqliteSentence(code: string | null): string | null {
  if (!code) return null
  const primary = code.split('_').slice(0, 2).join('_')
  return SQLITE_EXTENDED[code] ?? SQLITE_SENTENCES[primary] ?? null
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

function fsSentence(code: string, path: string | undefined): string | null {
  // The base name is enough to recognise the file; the full path says where the user's files live.
  const name = path ? cap(basename(path), 120) : null
  const it = name ? `"${name}"` : 'the file'
  switch (code) {
    case 'ENOENT':
      return name ? `file not found: "${name}"` : 'file not found'
    case 'EACCES':
    case 'EPERM':
      return `permission denied: ${it} cannot be read or changed by this app`
    case 'EISDIR':
      return `${it} is a folder, not a file`
    case 'ENOTDIR':
      return `${name ? `"${name}"` : 'the path'} is not a folder`
    case 'ENOSPC':
    case 'EDQUOT':
      return `the disk is full (writing ${it}); free some space and try again`
    case 'EEXIST':
      return `${it} already exists`
    case 'EROFS':
      return `${it} is on a read-only disk`
    case 'EBUSY':
      return `${it} is in use by another program; try again`
    case 'EMFILE':
    case 'ENFILE':
      return 'too many files are open; try again'
    case 'ENAMETOOLONG':
      return 'a file name or path is too long'
    case 'ELOOP':
      return `${it} is a symbolic link loop`
    case 'ENOTEMPTY':
      return `the folder ${name ? `"${name}" ` : ''}is not empty`
    case 'EIO':
      return `${it} could not be read or written (a disk error)`
    default:
      return null
  }
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
