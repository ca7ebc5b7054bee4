// The errors the model hub throws on purpose. `code` tells callers (the CLI, a future IPC handler) what
// happened without parsing messages; the message says it in words, naming the model and the file or URL.
// An unknown model id is a NotFoundError (../errors), so the server's mapping to 404 applies.

export type HubErrorCode =
  /** The catalogue file breaks the schema, or cannot be read. */
  | 'catalogue'
  /** A path names something other than a regular file (folder, FIFO, device). */
  | 'not-a-file'
  /** The server answered with an HTTP error (404, 403, 5xx after the retries). */
  | 'http'
  /** The connection failed or broke, and the retries ran out. */
  | 'network'
  /** The file is shorter or longer than the catalogue says. */
  | 'size'
  /** The file's SHA-256 differs from the catalogue's, or does not start with its name's hash prefix. */
  | 'hash'
  /** The file's structure is not what its format needs (the BVLC layers). */
  | 'structure'
  /** The caller's AbortSignal fired. */
  | 'cancelled'
  /** Another download of the same model is running. */
  | 'busy'
  /** An imported file fits no catalogue entry of its architecture. */
  | 'no-match'
  /** A model chosen as a base is in the catalogue but not in the cache yet. */
  | 'not-downloaded'

export class HubError extends Error {
  override name = 'HubError'
  constructor(
    readonly code: HubErrorCode,
    message: string
  ) {
    super(message)
  }
}
