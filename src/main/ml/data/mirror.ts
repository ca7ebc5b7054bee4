// Mirror augmentation for traffic signs: a horizontally mirrored "No entry" is still "No entry", and a
// mirrored "Turn left ahead" is a "Turn right ahead". Flipping those signs (and swapping the label of mirror
// twins) gives each class the physical signs of its twin: a class of 6 recorded signs learns from 12. Other
// signs are never flipped (a mirrored 30 km/h or "Road narrows on the right" is no sign at all).
//
// The table is GTSRB's (Staravoitau, "Traffic signs classification with a convolutional network", 2017,
// and the sign drawings); a class takes part when its name is one of these, as `import --names` with
// GTSRB's signnames.csv names them. No library holds this knowledge, so it is written here.
import type { ClassLabel } from './types'

/** Signs that read the same mirrored left to right. */
const SYMMETRIC = [
  'Right-of-way at the next intersection',
  'Priority road',
  'Yield',
  'No vehicles',
  'No entry',
  'General caution',
  'Bumpy road',
  'Traffic signals',
  'Beware of ice/snow',
  'Ahead only'
]

/** Signs that become each other mirrored. */
const TWINS: [string, string][] = [
  ['Dangerous curve to the left', 'Dangerous curve to the right'],
  ['Turn right ahead', 'Turn left ahead'],
  ['Go straight or right', 'Go straight or left'],
  ['Keep right', 'Keep left']
]

const norm = (s: string): string => s.trim().toLowerCase().replace(/\s+/g, ' ')

/**
 * Per output index, the index a horizontally mirrored image of that class belongs to: itself for a
 * symmetric sign, its twin's index, or -1 (never mirrored; also when the twin is not among the classes).
 * Null when no class takes part.
 */
export function mirrorTable(classes: readonly Pick<ClassLabel, 'index' | 'name'>[]): Int32Array | null {
  const byName = new Map(classes.map((c) => [norm(c.name), c.index]))
  const size = classes.reduce((m, c) => Math.max(m, c.index + 1), 0)
  const table = new Int32Array(size).fill(-1)
  let any = false
  for (const name of SYMMETRIC) {
    const i = byName.get(norm(name))
    if (i !== undefined) {
      table[i] = i
      any = true
    }
  }
  for (const [a, b] of TWINS) {
    const i = byName.get(norm(a))
    const j = byName.get(norm(b))
    if (i !== undefined && j !== undefined) {
      table[i] = j
      table[j] = i
      any = true
    }
  }
  return any ? table : null
}
