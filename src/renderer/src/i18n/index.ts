// vue-i18n set-up (composition mode). The chosen locale is remembered in localStorage.
import { createI18n } from 'vue-i18n'
import en from './en'
import zhCN from './zh-CN'

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

export function createAppI18n(locale: Locale = initialLocale()) {
  return createI18n<[MessageSchema], Locale, false>({
    legacy: false,
    locale,
    fallbackLocale: 'en',
    messages: { en, 'zh-CN': zhCN }
  })
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
