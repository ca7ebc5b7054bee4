// Keyboard shortcuts for classes: position 0..8 -> keys 1..9, position 9 -> 0, then letters a..z minus the
// letters that are commands of their own. Pure, so the help overlay, the sidebar and the key handler agree.

/** Letters that do something else in the library view and so never select a class. */
export const RESERVED_LETTERS: readonly string[] = ['n']

const LETTERS = 'abcdefghijklmnopqrstuvwxyz'.split('').filter((l) => !RESERVED_LETTERS.includes(l))
const KEYS: readonly string[] = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '0', ...LETTERS]

/** The key that assigns the class at this position, or null when there are more classes than keys. */
export function keyForPosition(position: number): string | null {
  return position >= 0 && position < KEYS.length ? KEYS[position] : null
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
