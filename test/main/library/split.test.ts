// Split assignment: deterministic by seed, stratified by class, groups never cut.
import { describe, expect, it } from 'vitest'
import { assignSplits, type SplitItem } from '../../../src/main/library/split'
import { mulberry32 } from '../../../src/shared/random'

/** `classes` classes, each with `groups` groups of `size` items. */
function makeItems(classes: number, groups: number, size: number): SplitItem[] {
  const items: SplitItem[] = []
  let id = 1
  for (let c = 1; c <= classes; c++) {
    for (let g = 0; g < groups; g++) {
      for (let k = 0; k < size; k++) items.push({ id: id++, classId: c, group: `${c}-${g}` })
    }
  }
  return items
}

describe('assignSplits', () => {
  it('gives the same result for the same seed, whatever the input order, and another for another seed', () => {
    const items = makeItems(5, 20, 3)
    const a = assignSplits(items, { val: 0.2, test: 0.1 }, 42)
    const b = assignSplits([...items].reverse(), { val: 0.2, test: 0.1 }, 42)
    const c = assignSplits(items, { val: 0.2, test: 0.1 }, 43)
    expect([...b].sort((x, y) => x[0] - y[0])).toEqual([...a].sort((x, y) => x[0] - y[0]))
    expect([...c].some(([id, s]) => a.get(id) !== s)).toBe(true)
  })

  it('stratifies: every class gets close to the ratios', () => {
    const items = makeItems(4, 50, 2) // 100 items per class, groups of 2
    const splits = assignSplits(items, { val: 0.2, test: 0.1 }, 7)
    for (let c = 1; c <= 4; c++) {
      const mine = items.filter((i) => i.classId === c).map((i) => splits.get(i.id))
      expect(mine.filter((s) => s === 'val').length).toBe(20)
      expect(mine.filter((s) => s === 'test').length).toBe(10)
      expect(mine.filter((s) => s === 'train').length).toBe(70)
    }
  })

  it('keeps every group in one split, also when a group mixes labels', () => {
    const items = makeItems(3, 10, 5)
    items[0] = { ...items[0], classId: 2 } // one relabelled frame in a class-1 track
    const splits = assignSplits(items, { val: 0.3, test: 0.2 }, 1)
    const byGroup = new Map<string, Set<string | undefined>>()
    for (const i of items) {
      const set = byGroup.get(i.group as string) ?? new Set()
      set.add(splits.get(i.id))
      byGroup.set(i.group as string, set)
    }
    for (const set of byGroup.values()) expect(set.size).toBe(1)
    expect(new Set(splits.values())).toEqual(new Set(['train', 'val', 'test']))
  })

  it('treats items without a group one by one and leaves train when ratios are 0', () => {
    const items: SplitItem[] = Array.from({ length: 10 }, (_, i) => ({ id: i + 1, classId: 1, group: null }))
    expect(new Set(assignSplits(items, { val: 0, test: 0 }, 3).values())).toEqual(new Set(['train']))
    const s = assignSplits(items, { val: 0.5, test: 0 }, 3)
    expect([...s.values()].filter((v) => v === 'val').length).toBe(5)
  })

  it('mulberry32 is deterministic and in [0, 1)', () => {
    const a = mulberry32(5)
    const b = mulberry32(5)
    const xs = Array.from({ length: 1000 }, () => a())
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()))
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...xs)).toBeLessThan(1)
  })
})

describe('assignSplits with coarse groups', () => {
  it('keeps the overall ratios close when groups are bigger than a class share', () => {
    // 40 classes x 6 groups of 25: a 10% test share per class (15) is less than one group.
    const items = makeItems(40, 6, 25)
    const splits = assignSplits(items, { val: 0.2, test: 0.1 }, 3)
    const count = (s: string): number => [...splits.values()].filter((v) => v === s).length
    expect(Math.abs(count('test') / items.length - 0.1)).toBeLessThan(0.02)
    expect(Math.abs(count('val') / items.length - 0.2)).toBeLessThan(0.02)
    // Each class still gets within one group of its own share.
    for (let c = 1; c <= 40; c++) {
      const mine = items.filter((i) => i.classId === c).map((i) => splits.get(i.id))
      expect(Math.abs(mine.filter((s) => s === 'val').length - 30)).toBeLessThanOrEqual(25)
      expect(mine.filter((s) => s === 'train').length).toBeGreaterThanOrEqual(75)
    }
  })
})
