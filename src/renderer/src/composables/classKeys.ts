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

/** A stable, distinguishable colour per class id (golden-angle hues, calm saturation). */
export function classColor(id: number): string {
  const hue = Math.round((id * 137.508) % 360)
  return `hsl(${hue} 55% 52%)`
}
