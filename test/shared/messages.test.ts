// The backend's message catalogue (src/shared/messages): both languages have the same keys with the same
// parameters, the Chinese is a translation (not English left in place), every message compiles in vue-i18n
// (no stray `@ | { }`) and formats with its parameters, and the backend's English formatting fills them.
import { describe, expect, it } from 'vitest'
import { createI18n } from 'vue-i18n'
import {
  backendEn,
  backendZhCN,
  formatMessage,
  formatTemplate,
  isMessageKey,
  nestMessages,
  placeholdersOf,
  type MessageKey
} from '../../src/shared/messages'
import { messageError } from '../../src/main/errors'

const keys = Object.keys(backendEn) as MessageKey[]

describe('backend message catalogue', () => {
  it('has every key in both languages, with the same parameters', () => {
    expect(Object.keys(backendZhCN).sort()).toEqual([...keys].sort())
    for (const k of keys) expect(placeholdersOf(backendZhCN[k]), k).toEqual(placeholdersOf(backendEn[k]))
  })

  it('is translated: the Chinese differs from the English and is written in Chinese', () => {
    for (const k of keys) {
      if (k === 'detail') continue // a bare `{detail}`: the text is the parameter itself
      expect(backendZhCN[k], k).not.toBe(backendEn[k])
      expect(backendZhCN[k], k).toMatch(/[\u4e00-\u9fff]/)
    }
  })

  it('compiles in vue-i18n and fills every parameter, in both languages', () => {
    const warnings: unknown[] = []
    const i18n = createI18n({
      legacy: false,
      locale: 'zh-CN',
      fallbackLocale: 'en',
      missingWarn: false,
      fallbackWarn: false,
      warnHtmlMessage: false,
      messages: { en: { errors: nestMessages(backendEn) }, 'zh-CN': { errors: nestMessages(backendZhCN) } }
    } as never)
    const g = i18n.global as unknown as {
      t: (k: string, p: Record<string, unknown>) => string
      te: (k: string, locale?: string) => boolean
      locale: { value: string }
    }
    const origWarn = console.warn
    console.warn = (...a: unknown[]) => warnings.push(a)
    try {
      for (const locale of ['en', 'zh-CN'] as const) {
        g.locale.value = locale
        const table = locale === 'en' ? backendEn : backendZhCN
        for (const k of keys) {
          expect(g.te(`errors.${k}`, locale), k).toBe(true)
          const params = Object.fromEntries(placeholdersOf(table[k]).map((p) => [p, `<${p}|@{x}>`]))
          const text = g.t(`errors.${k}`, params)
          // Parameters are values, never syntax: a path with `| @ { }` shows as written.
          expect(text, `${locale} ${k}`).toBe(formatTemplate(table[k], params))
          for (const p of placeholdersOf(table[k])) expect(text).toContain(`<${p}|@{x}>`)
        }
      }
    } finally {
      console.warn = origWarn
    }
    expect(warnings).toEqual([])
  })

  it('formats the English text the CLI prints, and types the parameters', () => {
    const e = messageError('export.notEmpty', { path: '/tmp/out' })
    expect(e.message).toBe(
      'export target /tmp/out is not empty; choose a new or empty folder (nothing was written)'
    )
    expect(e.messageKey).toBe('export.notEmpty')
    expect(e.messageParams).toEqual({ path: '/tmp/out' })
    expect(formatMessage('project.noneOpen')).toBe('no project is open: create or open a project first')
    expect(messageError('project.noneOpen').message).toBe(formatMessage('project.noneOpen'))
    expect(isMessageKey('export.notEmpty')).toBe(true)
    expect(isMessageKey('export.nope')).toBe(false)
    expect(isMessageKey('toString')).toBe(false)
    // The type system holds each throw site to its message's parameters (checked by vue-tsc, never run).
    const typeChecks = (): unknown[] => [
      // @ts-expect-error a missing parameter
      messageError('export.notEmpty', {}),
      // @ts-expect-error a parameter the message does not have
      messageError('export.notEmpty', { path: 'x', extra: 1 }),
      // @ts-expect-error a key not in the catalogue
      messageError('export.nope'),
      // @ts-expect-error parameters for a message that has none
      messageError('project.noneOpen', { path: 'x' })
    ]
    expect(typeof typeChecks).toBe('function')
  })
})
