// User-facing notices (errors, confirmations) and the backend connection state. Stores push message keys,
// not text, so notices follow a language switch and stores stay free of i18n.
import { defineStore } from 'pinia'
import { ref } from 'vue'
import { getApi, hasConnection, type ApiConnectionState } from '@renderer/api'
import { errorText } from '@renderer/i18n/errors'

export interface Notice {
  id: number
  kind: 'info' | 'error'
  /** vue-i18n key. */
  key: string
  params: Record<string, unknown>
  /** Plural count passed to `t(key, count, {named})`, when the message has plural forms. */
  count?: number
  /** When it was shown (ms since the epoch): a navigation clears the notices shown before it. */
  at: number
}

/** How long a confirmation stays (ms). */
export const INFO_MS = 3500
/**
 * How long an error stays (ms) unless dismissed or left behind by a navigation: long enough to read twice,
 * never the minutes a stale failure used to follow the user around every screen. Failures that belong to
 * a place (a run's, an import's) are shown there, not only in a notice.
 */
export const ERROR_MS = 12000

/** The message of anything thrown, for showing to a user: a coded backend error in the UI's language. */
export function errorMessage(error: unknown): string {
  return errorText(error)
}

export const useNotifyStore = defineStore('notify', () => {
  /** Notices on screen, oldest first. */
  const notices = ref<Notice[]>([])
  /** State of the connection to the backend (always 'open' inside Electron). */
  const connection = ref<ApiConnectionState>('open')
  /** Why the connection closed, when it did. */
  const connectionReason = ref('')
  let nextId = 1
  const timers = new Map<number, ReturnType<typeof setTimeout>>()

  const api = getApi()
  if (hasConnection(api)) {
    api.onConnection((state, reason) => {
      connection.value = state
      connectionReason.value = reason ?? ''
    })
  }

  function push(
    kind: Notice['kind'],
    key: string,
    params: Record<string, unknown> = {},
    count?: number
  ): number {
    const id = nextId++
    // Labelling fast would stack one confirmation per key press, and an undo makes the previous one
    // stale: keep only the newest confirmation of a group (`labels.*`, `import.*`...).
    const group = key.split('.')[0]
    if (kind === 'info') {
      for (const n of notices.value.filter((x) => x.kind === 'info' && x.key.split('.')[0] === group))
        dismiss(n.id)
    }
    notices.value.push({ id, kind, key, params, count, at: Date.now() })
    if (notices.value.length > 4) dismiss(notices.value[0].id)
    timers.set(
      id,
      setTimeout(() => dismiss(id), kind === 'info' ? INFO_MS : ERROR_MS)
    )
    return id
  }

  /**
   * The user went to another screen: what was said about the last one no longer applies. Notices pushed in
   * the last `graceMs` stay, since an action that navigates may report on its way (a failed open, say).
   */
  function clearOnNavigate(graceMs = 100): void {
    const before = Date.now() - graceMs
    for (const n of notices.value.filter((x) => x.at < before)) dismiss(n.id)
  }

  function dismiss(id: number): void {
    notices.value = notices.value.filter((n) => n.id !== id)
    const t = timers.get(id)
    if (t) clearTimeout(t)
    timers.delete(id)
  }

  return {
    notices,
    connection,
    connectionReason,
    info: (key: string, params?: Record<string, unknown>, count?: number) => push('info', key, params, count),
    error: (key: string, params?: Record<string, unknown>, count?: number) =>
      push('error', key, params, count),
    dismiss,
    clearOnNavigate
  }
})
