// vue-i18n set-up (composition mode). The chosen locale is remembered in localStorage.
import { createI18n } from 'vue-i18n'
import { backendEn, backendZhCN, nestMessages } from '@shared/messages'
import en from './en'
import zhCN from './zh-CN'
import { setErrorTranslator } from './errors'

export const LOCALES = ['en', 'zh-CN'] as const
export type Locale = (typeof LOCALES)[number]
export const LOCALE_NAMES: Record<Locale, string> = { en: 'English', 'zh-CN': '简体中文' }
const STORAGE_KEY = 'transfer-studio.locale'

export type MessageSchema = typeof en

function initialLocale(): Locale {
  try {
    const saved = localStorage.getItem(STORAGE_KEY)
    if (saved && (LOCALES as readonly string[]).includes(saved)) return saved as Locale
  } catch {
    // Storage can be unavailable (privacy mode); fall through to the browser language.
  }
  return typeof navigator !== 'undefined' && navigator.language?.toLowerCase().startsWith('zh')
    ? 'zh-CN'
    : 'en'
}

// The backend's catalogue (src/shared/messages) joins under `errors.*`: its keys are dotted, vue-i18n's paths.
const messages = {
  en: { ...en, errors: nestMessages(backendEn) },
  'zh-CN': { ...zhCN, errors: nestMessages(backendZhCN) }
} as unknown as Record<Locale, MessageSchema>

export function createAppI18n(locale: Locale = initialLocale()) {
  const i18n = createI18n<[MessageSchema], Locale, false>({
    legacy: false,
    locale,
    fallbackLocale: 'en',
    messages
  })
  const g = i18n.global as unknown as {
    t: (key: string, params: Record<string, unknown>) => string
    te: (key: string) => boolean
  }
  setErrorTranslator({ t: (key, params) => g.t(key, params), te: (key) => g.te(key) })
  return i18n
}

/** Switch language and remember it for the next start. */
export function rememberLocale(locale: Locale): void {
  try {
    localStorage.setItem(STORAGE_KEY, locale)
  } catch {
    // Not fatal: the switch still applies to this session.
  }
  document.documentElement.lang = locale
}
