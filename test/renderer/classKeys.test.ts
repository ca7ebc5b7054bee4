import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  classColor,
  classLabel,
  classNumber,
  filterClasses,
  keyForPosition,
  positionForKey,
  RESERVED_LETTERS,
  SHORTCUT_COUNT,
  shortcutSummary
} from '@renderer/lib/classKeys'
import type { RunStatus } from '@shared/training'
import { bestRun, runAccuracy } from '@renderer/lib/bestRun'
import { SHARED_DATA } from '../helpers'

/** GTSRB's 43 class names in ClassId order, as the import of signnames.csv makes them positions 0..42. */
function gtsrbClasses(): { id: number; position: number; name: string }[] {
  const lines = readFileSync(join(SHARED_DATA, 'signnames.csv'), 'utf8').trim().split('\n').slice(1)
  return lines.map((l, i) => ({ id: i + 1, position: i, name: l.slice(l.indexOf(',') + 1).trim() }))
}

describe('class shortcut keys', () => {
  it('maps positions to 1..9, 0, then letters without the reserved ones', () => {
    expect([0, 1, 8, 9, 10, 11].map(keyForPosition)).toEqual(['1', '2', '9', '0', 'a', 'b'])
    const letters = Array.from({ length: 25 }, (_, i) => keyForPosition(10 + i))
    expect(letters).not.toContain('n')
    expect(letters.at(-1)).toBe('z')
    expect(keyForPosition(35)).toBeNull()
    expect(RESERVED_LETTERS).toContain('n')
  })

  it('inverts keyForPosition and refuses command keys', () => {
    for (let p = 0; p < 35; p++) expect(positionForKey(keyForPosition(p)!)).toBe(p)
    expect(positionForKey('n')).toBeNull()
    expect(positionForKey('?')).toBeNull()
    expect(positionForKey('A')).toBe(10)
  })

  it('gives neighbouring classes different colours', () => {
    for (let id = 1; id < 40; id++) expect(classColor(id)).not.toBe(classColor(id + 1))
    expect(new Set(Array.from({ length: 10 }, (_, i) => classColor(i + 1))).size).toBe(10)
    expect(classColor(7)).toBe(classColor(7))
  })
})

describe('one naming and a way in for every class', () => {
  it('summarises the shortcuts without a key past the last one (never "null")', () => {
    expect(shortcutSummary(43)).toBe('1…9, 0, a…z')
    expect(shortcutSummary(SHORTCUT_COUNT)).toBe('1…9, 0, a…z')
    expect(shortcutSummary(12)).toBe('1…9, 0, a…b')
    expect(shortcutSummary(10)).toBe('1…9, 0')
    expect(shortcutSummary(4)).toBe('1…4')
    expect(shortcutSummary(0)).toBe('')
    for (let n = 0; n < 60; n++) expect(shortcutSummary(n)).not.toContain('null')
    expect(SHORTCUT_COUNT).toBe(35)
  })

  it('numbers classes 1..N, so the key 1 and the number 1 are the same class', () => {
    expect(classNumber(keyForPosition(0) === '1' ? 0 : -1)).toBe(1)
    for (let p = 0; p < 9; p++) expect(String(classNumber(p))).toBe(keyForPosition(p))
    expect(classLabel({ position: 12, name: 'Priority road' })).toBe('13 · Priority road')
  })

  it("finds every one of GTSRB's 43 classes by number or by part of its name, best match first", () => {
    const all = gtsrbClasses()
    expect(all).toHaveLength(43)
    const beyond = all.filter((c) => keyForPosition(c.position) === null)
    expect(beyond).toHaveLength(8)
    for (const c of all) expect(filterClasses(all, String(classNumber(c.position)))[0]).toBe(c)
    // "4" is class 4 first, then 40..43.
    expect(filterClasses(all, '4').map((c) => classNumber(c.position))).toEqual([4, 40, 41, 42, 43])
    expect(filterClasses(all, 'roundabout').map((c) => c.name)).toEqual(['Roundabout mandatory'])
    expect(filterClasses(all, 'END OF').every((c) => c.name.toLowerCase().startsWith('end of'))).toBe(true)
    expect(filterClasses(all, 'zzz')).toEqual([])
    expect(filterClasses(all, '  ')).toHaveLength(43)
  })
})

describe('the best run', () => {
  const run = (
    id: number,
    testAccuracy: number | null,
    valAccuracy: number | null,
    status: RunStatus = 'completed'
  ) => ({ id, status, testAccuracy, valAccuracy })
  it('is the highest test accuracy, else validation accuracy, among completed runs', () => {
    expect(bestRun([run(3, null, 0.99), run(2, 0.9, 0.5), run(1, 0.95, 0.4)])?.id).toBe(1)
    expect(bestRun([run(3, null, 0.7), run(2, null, 0.8)])?.id).toBe(2)
    expect(bestRun([run(4, 0.99, 0.99, 'failed'), run(1, 0.5, 0.5)])?.id).toBe(1)
    expect(bestRun([run(1, 0.9, 0.9), run(2, 0.9, 0.9)])?.id).toBe(2)
    expect(bestRun([])).toBeNull()
    expect(runAccuracy(run(1, null, null))).toBeNull()
    expect(runAccuracy(run(1, null, 0.5))).toEqual({ split: 'val', value: 0.5 })
  })
})
