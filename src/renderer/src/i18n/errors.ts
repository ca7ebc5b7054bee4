// The backend's coded messages in the UI's language. An error from the backend carries `code` and `params`
// (src/shared/messages); `errorText` words it with vue-i18n's `errors.<code>`, and a message the catalogue
// does not know (an old backend, a detail from deep inside a file reader) falls back to its English text.
// Stores call `errorText` through notify's `errorMessage` with the app's translator, registered once by
// `createAppI18n`; a component that keeps an error in its state keeps `errorInfo` (plain data) and words it
// at render, so a language switch rewords it.
import { isMessageKey } from '@shared/messages'

/** What of an error is kept to word it later: the English text and, when coded, its key and parameters. */
export interface ErrorInfo {
  message: string
  code?: string
  params?: Record<string, string | number>
}

/** vue-i18n's `t` and `te`, as the app's instance has them. */
export interface Translator {
  t: (key: string, params: Record<string, unknown>) => string
  te: (key: string) => boolean
}

let appTranslator: Translator | null = null

/** Called by createAppI18n: the translator stores use when they word an error. */
export function setErrorTranslator(translator: Translator): void {
  appTranslator = translator
}

/** The parts of anything thrown (a RemoteError, a serialized error, a string) worth keeping. */
export function errorInfo(error: unknown): ErrorInfo {
  if (typeof error === 'string') return { message: error }
  if (error && typeof error === 'object') {
    const e = error as { message?: unknown; code?: unknown; params?: unknown }
    const message = typeof e.message === 'string' ? e.message : String(error)
    if (isMessageKey(e.code)) {
      const params = e.params && typeof e.params === 'object' ? (e.params as ErrorInfo['params']) : {}
      return { message, code: e.code, params }
    }
    return { message }
  }
  return { message: String(error) }
}

/** The error worded in the UI's language (`translator` defaults to the app's). */
export function errorText(error: unknown, translator: Translator | null = appTranslator): string {
  const info = errorInfo(error)
  if (!info.code || !translator) return info.message
  const key = `errors.${info.code}`
  if (!translator.te(key)) return info.message
  return translator.t(key, wordedParams(info.params ?? {}, translator))
}

/** A `{reason}` that is itself coded (`reasonCode`, `reasonParams`) is worded too. */
function wordedParams(
  params: Record<string, string | number>,
  translator: Translator
): Record<string, string | number> {
  const reasonCode = params.reasonCode
  if (typeof reasonCode !== 'string' || !isMessageKey(reasonCode)) return params
  let reasonParams: Record<string, string | number> = {}
  try {
    reasonParams = JSON.parse(String(params.reasonParams ?? '{}')) as Record<string, string | number>
  } catch {
    // Unreadable parameters: the reason's own template still reads better than English.
  }
  return {
    ...params,
    reason: errorText({ message: params.reason, code: reasonCode, params: reasonParams }, translator)
  }
}
