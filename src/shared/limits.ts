// The size limits that the transports and the contract share, so that whatever the validator accepts also
// fits the wire: one WebSocket message under `serve`, one HTTP upload. Each limit is derived from the frame.

/** The largest WebSocket message the server reads (and the renderer's client sends). */
export const MAX_FRAME_BYTES = 32 * 1024 * 1024

/** Image ids one request may carry: a select-all of a million ids, as JSON, is far inside one frame. */
export const MAX_IDS = 1_000_000

/** The longest id, in JSON digits (ids are SQLite rowids below 10^15). */
export const MAX_ID_DIGITS = 15

/** One dropped image's base64 inside an invoke (the desktop app; a browser uploads over HTTP instead). */
export const MAX_BASE64 = 24 * 1024 * 1024

/** One file uploaded to `serve` for prediction (`POST /upload`). */
export const MAX_UPLOAD_BYTES = 64 * 1024 * 1024

/** Uploads waiting to be used, and their bytes together: beyond either, an upload is refused (429). */
export const MAX_PENDING_UPLOADS = 1000
export const MAX_PENDING_UPLOAD_BYTES = 2 * 1024 * 1024 * 1024

/** A client whose unread replies and events pass this many bytes stops being read until it catches up. */
export const CLIENT_HIGH_WATER_BYTES = 8 * 1024 * 1024
