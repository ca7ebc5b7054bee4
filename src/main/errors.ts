// Errors the backend's services and its IPC boundary throw on purpose. Only `name` and `message` cross the
// boundary (src/main/server/dispatch.ts `serializeError`), so the names are part of the contract: the
// server answers 404 for a NotFoundError, and the UI tells a refused argument from a failed operation.

/** An argument broke the contract: `<channel>: <path>: <what is wrong>`. */
export class ValidationError extends Error {
  override name = 'ValidationError'
}

/** A thing named by an argument (image, class, run) does not exist; the server answers 404. */
export class NotFoundError extends Error {
  override name = 'NotFoundError'
}
