// Bounded reads of files that come from a user's disk (model folders, weights, images): STYLE.md 17.
//
// Every file is stat'ed through its symlinks before it is opened, so a FIFO (whose open blocks forever), a
// character device such as /dev/zero (which never ends) or a folder is refused with a message that names the
// file and says what it is. The handle is opened non-blocking and stat'ed again, in case the path was swapped
// between the two; the size checked is the handle's own. Reads are positioned reads of exactly the bytes the
// caller declared or the handle's stat gave, never "until the end", so a file that grows while it is read
// cannot make the process grow with it. `resolveInside` confines a relative path named by a file (a
// model.json's weights paths) to the folder that file belongs to, after resolving symlinks.
import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  readSync,
  realpathSync,
  statSync,
  type Stats
} from 'node:fs'
import { open, realpath, stat, type FileHandle } from 'node:fs/promises'
import { isAbsolute, relative, resolve, sep } from 'node:path'

/** model.json and metadata.json of a studio model are a few KB to a few MB; anything larger is refused. */
export const MAX_JSON_BYTES = 64 << 20

export type SafeFileErrorCode = 'not-found' | 'not-a-file' | 'too-large' | 'size-mismatch' | 'outside' | 'io'

/** A file that cannot be read safely; `message` is a plain sentence naming the file. */
export class SafeFileError extends Error {
  constructor(
    readonly code: SafeFileErrorCode,
    message: string,
    readonly path: string,
    /** The system error behind it, where there is one (ENOENT, EACCES). */
    readonly sysError?: NodeJS.ErrnoException
  ) {
    super(message)
    this.name = 'SafeFileError'
  }
}

export interface RegularFileOptions {
  /** Refuse a file larger than this many bytes (before anything is read). */
  maxBytes?: number
  /** Refuse a file whose size is not exactly this (a size a header or manifest declares). */
  exactBytes?: number
  /** Names the file's role in messages, e.g. "weights file"; default "file". */
  what?: string
}

/** An open regular file: close it with `close()` (the disposer). */
export interface RegularFile {
  handle: FileHandle
  path: string
  /** The size from the open handle's stat, checked against the options. */
  size: number
  /**
   * Reads exactly `length` bytes at `offset` (into `into` at `intoOffset` when given, else a new buffer); a
   * file that ends first is an error.
   */
  read(offset: number, length: number, into?: Uint8Array, intoOffset?: number): Promise<Uint8Array>
  close(): Promise<void>
}

/** What a non-regular file is, in words for a message. */
export function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder'
  if (st.isFIFO()) return 'a FIFO'
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device'
  if (st.isSocket()) return 'a socket'
  return 'not a plain file'
}

function statError(path: string, what: string, err: NodeJS.ErrnoException): SafeFileError {
  if (err.code === 'ENOENT') {
    return new SafeFileError('not-found', `The ${what} ${path} does not exist (no such file).`, path, err)
  }
  return new SafeFileError('io', `The ${what} ${path} cannot be read: ${err.message}`, path, err)
}

/** Checks the stat of a file against the options; throws a SafeFileError. */
function checkStat(path: string, st: Stats, opts: RegularFileOptions): void {
  const what = opts.what ?? 'file'
  if (!st.isFile()) {
    throw new SafeFileError('not-a-file', `The ${what} ${path} is not a regular file (${kindOf(st)}).`, path)
  }
  if (opts.maxBytes !== undefined && st.size > opts.maxBytes) {
    throw new SafeFileError(
      'too-large',
      `The ${what} ${path} is ${st.size} bytes, more than the ${opts.maxBytes} bytes it may be.`,
      path
    )
  }
  if (opts.exactBytes !== undefined && st.size !== opts.exactBytes) {
    throw new SafeFileError(
      'size-mismatch',
      `The ${what} ${path} is ${st.size} bytes, but ${opts.exactBytes} bytes are declared for it.`,
      path
    )
  }
}

const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0)

/** Opens a regular file for bounded, positioned reads (see the module comment). */
export async function openRegularFile(path: string, opts: RegularFileOptions = {}): Promise<RegularFile> {
  const what = opts.what ?? 'file'
  const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw statError(path, what, err)
  })
  checkStat(path, st, opts)
  const handle = await open(path, OPEN_FLAGS).catch((err: NodeJS.ErrnoException) => {
    throw statError(path, what, err)
  })
  try {
    const again = await handle.stat()
    checkStat(path, again, opts)
    const size = again.size
    return {
      handle,
      path,
      size,
      async read(offset, length, into, intoOffset = 0) {
        if (offset < 0 || length < 0 || offset + length > size) {
          throw new SafeFileError(
            'size-mismatch',
            `The ${what} ${path} is ${size} bytes; bytes ${offset} to ${offset + length} are past its end.`,
            path
          )
        }
        const buf = into ?? Buffer.alloc(length)
        const base = into ? intoOffset : 0
        let got = 0
        while (got < length) {
          const { bytesRead } = await handle.read(buf, base + got, length - got, offset + got)
          if (bytesRead === 0) {
            throw new SafeFileError(
              'size-mismatch',
              `The ${what} ${path} ended after ${offset + got} bytes while it was read (it shrank).`,
              path
            )
          }
          got += bytesRead
        }
        return into ? buf.subarray(base, base + length) : buf
      },
      close: () => handle.close()
    }
  } catch (err) {
    await handle.close()
    throw err
  }
}

/** The whole of a regular file of at most `maxBytes` (exactly its checked size, never more). */
export async function readBounded(
  path: string,
  maxBytes: number,
  opts: Omit<RegularFileOptions, 'maxBytes'> = {}
): Promise<Buffer> {
  const file = await openRegularFile(path, { ...opts, maxBytes })
  try {
    const buf = Buffer.alloc(file.size)
    await file.read(0, file.size, buf)
    return buf
  } finally {
    await file.close()
  }
}

function parseJson(text: string, path: string, what: string): unknown {
  try {
    return JSON.parse(text)
  } catch (err) {
    // V8's message quotes the text ("Unexpected token 'r', "root:x:0:0"..."): keep only the position.
    const at = /position (\d+)/.exec((err as Error).message)?.[1]
    throw new SafeFileError(
      'io',
      `The ${what} ${path} is not valid JSON${at ? ` (the error is at byte ${at})` : ''}.`,
      path
    )
  }
}

/** A JSON file of at most `maxBytes` (default MAX_JSON_BYTES), parsed. */
export async function readJsonBounded(
  path: string,
  maxBytes = MAX_JSON_BYTES,
  what = 'file'
): Promise<unknown> {
  const buf = await readBounded(path, maxBytes, { what })
  return parseJson(buf.toString('utf8'), path, what)
}

/** The synchronous `readBounded`, for the few callers that cannot await (same checks, same messages). */
export function readBoundedSync(
  path: string,
  maxBytes: number,
  opts: Omit<RegularFileOptions, 'maxBytes'> = {}
): Buffer {
  const what = opts.what ?? 'file'
  const full = { ...opts, maxBytes }
  let st: Stats
  try {
    st = statSync(path)
  } catch (err) {
    throw statError(path, what, err as NodeJS.ErrnoException)
  }
  checkStat(path, st, full)
  let fd: number
  try {
    fd = openSync(path, OPEN_FLAGS)
  } catch (err) {
    throw statError(path, what, err as NodeJS.ErrnoException)
  }
  try {
    const again = fstatSync(fd)
    checkStat(path, again, full)
    const buf = Buffer.alloc(again.size)
    let got = 0
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got)
      if (n === 0) {
        throw new SafeFileError('size-mismatch', `The ${what} ${path} shrank while it was read.`, path)
      }
      got += n
    }
    return buf
  } finally {
    closeSync(fd)
  }
}

/** The synchronous `readJsonBounded`. */
export function readJsonBoundedSync(path: string, maxBytes = MAX_JSON_BYTES, what = 'file'): unknown {
  return parseJson(readBoundedSync(path, maxBytes, { what }).toString('utf8'), path, what)
}

function containedIn(root: string, target: string): boolean {
  const rel = relative(root, target)
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel))
}

function outside(name: string, dir: string, what: string, why: string): SafeFileError {
  return new SafeFileError(
    'outside',
    `The ${what} "${name}" points outside the folder ${dir} (${why}), so it is refused.`,
    name
  )
}

/**
 * The real path of `name`, a relative path a file in `dir` names, after checking that it stays inside `dir`
 * once every symlink is resolved. Absolute paths and paths that climb out (`../`) are refused by name,
 * before anything is opened; a missing file is a `not-found` error.
 */
export async function resolveInside(dir: string, name: string, what = 'file'): Promise<string> {
  if (typeof name !== 'string' || name === '' || name.includes('\0')) {
    throw new SafeFileError('outside', `The ${what} name ${JSON.stringify(name)} is not a valid path.`, dir)
  }
  if (isAbsolute(name)) throw outside(name, dir, what, 'it is an absolute path')
  const root = await realpath(dir).catch((err: NodeJS.ErrnoException) => {
    throw statError(dir, 'folder', err)
  })
  const lexical = resolve(root, name)
  if (!containedIn(root, lexical)) throw outside(name, dir, what, 'it climbs out with ..')
  const real = await realpath(lexical).catch((err: NodeJS.ErrnoException) => {
    throw statError(resolve(dir, name), what, err)
  })
  if (!containedIn(root, real)) throw outside(name, dir, what, 'a symbolic link leads out of the folder')
  return real
}

/** The synchronous `resolveInside`. */
export function resolveInsideSync(dir: string, name: string, what = 'file'): string {
  if (typeof name !== 'string' || name === '' || name.includes('\0')) {
    throw new SafeFileError('outside', `The ${what} name ${JSON.stringify(name)} is not a valid path.`, dir)
  }
  if (isAbsolute(name)) throw outside(name, dir, what, 'it is an absolute path')
  let root: string
  try {
    root = realpathSync(dir)
  } catch (err) {
    throw statError(dir, 'folder', err as NodeJS.ErrnoException)
  }
  const lexical = resolve(root, name)
  if (!containedIn(root, lexical)) throw outside(name, dir, what, 'it climbs out with ..')
  let real: string
  try {
    real = realpathSync(lexical)
  } catch (err) {
    throw statError(resolve(dir, name), what, err as NodeJS.ErrnoException)
  }
  if (!containedIn(root, real)) throw outside(name, dir, what, 'a symbolic link leads out of the folder')
  return real
}
