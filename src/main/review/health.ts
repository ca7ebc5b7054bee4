// The library's health check (Roboflow calls it that): images per class and split, how unbalanced the
// classes are, classes too small for the split in use, and the spread of image sizes. Pure: it reads the
// rows the repository hands it.
import type { ReviewHealth } from '../../shared/review'
import type { Split } from '../../shared/types'

export interface HealthImage {
  classId: number | null
  split: Split | null
  width: number
  height: number
}

/** Fewer labelled images than this in a class is too few to train or to check it. */
export const MIN_PER_CLASS = 10

function spread(values: number[]): { min: number; median: number; max: number } {
  if (!values.length) return { min: 0, median: 0, max: 0 }
  const s = [...values].sort((a, b) => a - b)
  return { min: s[0], median: s[s.length >> 1], max: s[s.length - 1] }
}

export function libraryHealth(
  images: readonly HealthImage[],
  classes: readonly { id: number; name: string }[],
  minPerClass = MIN_PER_CLASS
): ReviewHealth {
  const per = new Map(
    classes.map((c) => [c.id, { classId: c.id, name: c.name, total: 0, train: 0, val: 0, test: 0, none: 0 }])
  )
  const used = { train: false, val: false, test: false }
  let labelled = 0
  for (const img of images) {
    if (img.split) used[img.split] = true
    if (img.classId === null) continue
    const row = per.get(img.classId)
    if (!row) continue
    labelled++
    row.total++
    row[img.split ?? 'none']++
  }
  const perClass = [...per.values()]
  const counts = perClass.map((p) => p.total).filter((t) => t > 0)
  const smallClasses: ReviewHealth['smallClasses'] = []
  for (const p of perClass) {
    if (p.total === 0) continue
    if (p.total < minPerClass)
      smallClasses.push({ classId: p.classId, name: p.name, total: p.total, reason: 'few-images' })
    else if ((['train', 'val', 'test'] as const).some((s) => used[s] && p[s] === 0))
      smallClasses.push({ classId: p.classId, name: p.name, total: p.total, reason: 'missing-split' })
  }
  const aspects = images.map((i) => i.width / Math.max(1, i.height))
  const mid = spread(aspects).median || 1
  return {
    images: images.length,
    labelled,
    unlabelled: images.length - labelled,
    perClass,
    imbalanceRatio: counts.length >= 2 ? Math.max(...counts) / Math.min(...counts) : null,
    smallClasses,
    minPerClass,
    sizes: { width: spread(images.map((i) => i.width)), height: spread(images.map((i) => i.height)) },
    oddAspect: aspects.filter((a) => a > 2 * mid || a < mid / 2).length
  }
}
