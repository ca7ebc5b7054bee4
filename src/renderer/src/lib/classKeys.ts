// How classes are named and reached from the keyboard. Every view names a class by its number (its position
// plus one: 1..N, whatever the source's keys were) and its name, so "1" is the same class in the library, the
// help, the confusion matrix and predict. One-key shortcuts: 1..9 are classes 1..9, 0 is class 10, then the
// letters a..z minus the letters that are commands of their own; every class, those beyond the letters
// included, is reached through the type-to-filter picker (`/`). Pure, so every view and the key handlers agree.

/** Letters that do something else in the library view and so never select a class. */
export const RESERVED_LETTERS: readonly string[] = ['n']

const LETTERS = 'abcdefghijklmnopqrstuvwxyz'.split('').filter((l) => !RESERVED_LETTERS.includes(l))
const KEYS: readonly string[] = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '0', ...LETTERS]

/** The key that assigns the class at this position, or null when there are more classes than keys. */
export function keyForPosition(position: number): string | null {
  return position >= 0 && position < KEYS.length ? KEYS[position] : null
}

/** How many classes have a one-key shortcut. */
export const SHORTCUT_COUNT = KEYS.length

/** The key that opens the class picker (not a class key, and free in the library view). */
export const PICKER_KEY = '/'

/** A class's number, as every view shows it: its position plus one. */
export function classNumber(position: number): number {
  return position + 1
}

/** A class as plain text (select options, titles, notices): "12 · Priority road". */
export function classLabel(cls: { position: number; name: string }): string {
  return `${classNumber(cls.position)} · ${cls.name}`
}

/**
 * The help's summary of the one-key shortcuts for this many classes, e.g. "1…9, 0, a…z" (never a key past
 * the last one; empty when there are no classes).
 */
export function shortcutSummary(classCount: number): string {
  const n = Math.min(classCount, KEYS.length)
  if (n <= 0) return ''
  if (n === 1) return '1'
  if (n <= 9) return `1…${n}`
  if (n === 10) return '1…9, 0'
  if (n === 11) return '1…9, 0, a'
  return `1…9, 0, a…${KEYS[n - 1]}`
}

/**
 * Classes matching what was typed in the picker, best first: the class whose number is the query, then
 * numbers that start with it, then names that start with it, then names that contain it (case-insensitive).
 * An empty query keeps the list as it is.
 */
export function filterClasses<T extends { position: number; name: string }>(
  list: readonly T[],
  query: string
): T[] {
  const q = query.trim().toLowerCase()
  if (!q) return [...list]
  const rank = (c: T): number => {
    const num = String(classNumber(c.position))
    const name = c.name.toLowerCase()
    if (num === q) return 0
    if (num.startsWith(q)) return 1
    if (name.startsWith(q)) return 2
    if (name.includes(q)) return 3
    return -1
  }
  return list
    .map((c) => ({ c, r: rank(c) }))
    .filter((x) => x.r >= 0)
    .sort((a, b) => a.r - b.r || a.c.position - b.c.position)
    .map((x) => x.c)
}

/** The class position a key assigns, or null if the key does not assign a class. */
export function positionForKey(key: string): number | null {
  const i = KEYS.indexOf(key.toLowerCase())
  return i === -1 ? null : i
}

// Ten colours that stay apart for most eyes (Tableau 10); neighbouring ids never share one.
const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac'
]

/** A stable, distinguishable colour per class id. */
export function classColor(id: number): string {
  return PALETTE[(((id - 1) % PALETTE.length) + PALETTE.length) % PALETTE.length]
}
