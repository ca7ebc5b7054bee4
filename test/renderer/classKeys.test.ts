import { describe, expect, it } from 'vitest'
import { classColor, keyForPosition, positionForKey, RESERVED_LETTERS } from '@renderer/lib/classKeys'

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
