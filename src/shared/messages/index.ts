// One catalogue of the backend's user-facing messages, shared by both sides. The backend throws
// `CodedError(key, params)` (src/main/errors.ts); the English text becomes the error's `message` (what the
// CLI prints and what an old client shows), and `code`/`params` cross the boundary with it, so the renderer
// shows the same message in the user's language (`errors.<key>` in its vue-i18n messages). The parameters
// of each key are read from its English template by the type system, so a throw site that forgets one, or
// names one the message does not have, does not compile.
import { en, type MessageKey } from './en'
import { zhCN } from './zh-CN'

export { en as backendEn, zhCN as backendZhCN, type MessageKey }

/** The `{name}` placeholders of a template, as a union of names. */
type Placeholders<S extends string> = S extends `${string}{${infer P}}${infer Rest}`
  ? P | Placeholders<Rest>
  : never

/** The parameters `key`'s message needs. */
export type MessageParams<K extends MessageKey> = {
  [P in Placeholders<(typeof en)[K]>]: string | number
}

/** The keys whose message has no parameter. */
export type PlainKey = {
  [K in MessageKey]: Placeholders<(typeof en)[K]> extends never ? K : never
}[MessageKey]

export function isMessageKey(key: unknown): key is MessageKey {
  return typeof key === 'string' && Object.prototype.hasOwnProperty.call(en, key)
}

/** `template` with each `{name}` replaced by its parameter (a missing one stays as written). */
export function formatTemplate(template: string, params: Record<string, string | number> = {}): string {
  return template.replace(/\{([A-Za-z0-9_]+)\}/g, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole
  )
}

/** The English message of `key`: what the backend puts in `message` and the CLI prints. */
export function formatMessage(key: MessageKey, params: Record<string, string | number> = {}): string {
  return formatTemplate(en[key] ?? key, params)
}

/** The placeholder names of one template, for the parity test. */
export function placeholdersOf(template: string): string[] {
  return [...template.matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]).sort()
}

/**
 * The flat catalogue as vue-i18n's nested messages (`'export.notEmpty'` → `{ export: { notEmpty } }`): flat
 * keys with dots do not resolve in vue-i18n. Parameters are user data (paths), so they are passed as
 * named values, never spliced into the template, and cannot be read as syntax.
 */
export function nestMessages(flat: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, text] of Object.entries(flat)) {
    const parts = key.split('.')
    let node = out
    for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>
    node[parts[parts.length - 1]] = text
  }
  return out
}
