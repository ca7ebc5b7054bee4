// Train/val/test assignment: stratified by class, whole groups (GTSRB tracks) kept in one split, and
// deterministic for a seed. Pure, so it is tested without a database.
import { mulberry32 } from '../../shared/random'
import type { Split } from '../../shared/types'

export interface SplitItem {
  id: number
  classId: number
  /** Items with the same non-null group go to the same split. */
  group: string | null
}

export interface SplitRatios {
  val: number
  test: number
}

/**
 * Assign every item a split. A group belongs to the class most of its items carry (ties: lowest class id),
 * so a group is never cut even when its labels disagree. Per class, groups are shuffled with the seed and
 * each goes to the split furthest below its target share, which keeps each class within one group of the
 * ratios. What a class could not place exactly (a 25-image track cannot fill a 15-image test share) is
 * carried to the next class, so the totals over all classes also come out close to the ratios.
 */
export function assignSplits(
  items: readonly SplitItem[],
  ratios: SplitRatios,
  seed: number
): Map<number, Split> {
  const targets: [Split, number][] = [
    ['test', ratios.test],
    ['val', ratios.val],
    ['train', 1 - ratios.val - ratios.test]
  ]
  // Group items; an item without a group is a group of one.
  const groups = new Map<string, SplitItem[]>()
  for (const item of items) {
    const key = item.group === null ? `#${item.id}` : `g:${item.group}`
    const g = groups.get(key)
    if (g) g.push(item)
    else groups.set(key, [item])
  }
  const byClass = new Map<number, { key: string; members: SplitItem[] }[]>()
  for (const [key, members] of groups) {
    const counts = new Map<number, number>()
    for (const m of members) counts.set(m.classId, (counts.get(m.classId) ?? 0) + 1)
    let owner = -1
    let best = -1
    for (const [cls, n] of counts) if (n > best || (n === best && cls < owner)) [owner, best] = [cls, n]
    const list = byClass.get(owner)
    if (list) list.push({ key, members })
    else byClass.set(owner, [{ key, members }])
  }
  const rand = mulberry32(seed)
  const out = new Map<number, Split>()
  const carry: Record<Split, number> = { train: 0, val: 0, test: 0 }
  for (const cls of [...byClass.keys()].sort((a, b) => a - b)) {
    const list = byClass.get(cls) as { key: string; members: SplitItem[] }[]
    // Sort first so the result does not depend on the order the items came in.
    list.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1))
      ;[list[i], list[j]] = [list[j], list[i]]
    }
    const total = list.reduce((n, g) => n + g.members.length, 0)
    const have: Record<Split, number> = { train: 0, val: 0, test: 0 }
    for (const g of list) {
      let pick: Split = 'train'
      let need = -Infinity
      for (const [split, ratio] of targets) {
        if (ratio <= 0) continue
        const deficit = ratio * total - have[split] + carry[split]
        if (deficit > need + 1e-9) [pick, need] = [split, deficit]
      }
      have[pick] += g.members.length
      for (const m of g.members) out.set(m.id, pick)
    }
    for (const [split, ratio] of targets) carry[split] += ratio * total - have[split]
  }
  return out
}
