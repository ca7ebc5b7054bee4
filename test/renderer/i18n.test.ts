// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest'
import en from '@renderer/i18n/en'
import zhCN from '@renderer/i18n/zh-CN'
import { createAppI18n } from '@renderer/i18n'

function keys(obj: object, prefix = ''): string[] {
  return Object.entries(obj).flatMap(([k, v]) =>
    typeof v === 'object' && v !== null ? keys(v, `${prefix}${k}.`) : [`${prefix}${k}`]
  )
}
function leaf(obj: object, path: string): string {
  return path.split('.').reduce((o: unknown, k) => (o as Record<string, unknown>)[k], obj) as string
}
function placeholders(s: string): string[] {
  return [...new Set([...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]))].sort()
}

describe('i18n messages', () => {
  it('English and Simplified Chinese have exactly the same keys', () => {
    expect(keys(zhCN).sort()).toEqual(keys(en).sort())
    expect(keys(en).length).toBeGreaterThan(100)
  })

  it('every message is non-empty and uses the same placeholders in both languages', () => {
    for (const k of keys(en)) {
      expect(leaf(en, k).trim(), k).not.toBe('')
      expect(leaf(zhCN, k).trim(), k).not.toBe('')
      expect(placeholders(leaf(zhCN, k)), k).toEqual(placeholders(leaf(en, k)))
    }
  })

  it('formats plurals and switches language', () => {
    const i18n = createAppI18n('en')
    const t = i18n.global.t as (key: string, named: Record<string, unknown>, plural: number) => string
    expect(t('status.images', { n: 0 }, 0)).toBe('No images')
    expect(t('status.images', { n: 1 }, 1)).toBe('1 image')
    expect(t('status.images', { n: 50000 }, 50000)).toBe('50000 images')
    i18n.global.locale.value = 'zh-CN'
    expect(t('status.images', { n: 3 }, 3)).toBe('3 张图片')
  })
})
