// The hub's file helpers: open only regular files, hash a file as it streams, and remove leftovers. Nothing
// here reads a file whole; big files go through streams so the event loop stays free.
import { constants, createReadStream } from 'node:fs'
import { open, rm, rmdir, type FileHandle } from 'node:fs/promises'
import { createHash, type Hash } from 'node:crypto'
import { HubError } from './errors'

/**
 * Opens `path` for reading if it is a regular file (folders, FIFOs and devices are refused). Opened
 * non-blocking, so a FIFO put in its place cannot hang the open; the check is on the opened handle, so the
 * file checked is the file read.
 */
export async function openRegularFile(path: string): Promise<FileHandle> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK)
  try {
    const st = await handle.stat()
    if (!st.isFile()) throw new HubError('not-a-file', `${path} is not a regular file`)
    return handle
  } catch (e) {
    await handle.close()
    throw e
  }
}

/**
 * Feeds the first `length` bytes of an open file into `hash` (and `onChunk`), chunk by chunk. Returns the
 * number of bytes read, which is less than `length` only if the file is shorter.
 */
export async function hashFileInto(
  handle: FileHandle,
  length: number,
  hash: Hash,
  onChunk?: (chunk: Buffer) => Promise<void> | void,
  signal?: AbortSignal
): Promise<number> {
  if (length <= 0) return 0
  const stream = createReadStream('', { fd: handle, start: 0, end: length - 1, autoClose: false })
  let read = 0
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (signal?.aborted) throw signal.reason
      hash.update(chunk)
      read += chunk.length
      if (onChunk) await onChunk(chunk)
    }
  } finally {
    stream.destroy()
  }
  return read
}

/** SHA-256 of the whole regular file at `path`, lowercase hex, streamed. */
export async function sha256OfFile(path: string): Promise<string> {
  const handle = await openRegularFile(path)
  try {
    const hash = createHash('sha256')
    await hashFileInto(handle, (await handle.stat()).size, hash)
    return hash.digest('hex')
  } finally {
    await handle.close()
  }
}

/** Removes files that may or may not exist, then the folder if that left it empty. */
export async function removeLeftovers(files: string[], folder?: string): Promise<void> {
  for (const f of files) await rm(f, { force: true })
  if (folder) await rmdir(folder).catch(() => {})
}
