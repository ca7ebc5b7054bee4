// Number options are read as typed, without coercion: what `Number()` would turn into something else is refused.
import { describe, expect, it } from 'vitest'
import { parseNumber } from '../../../src/main/cli/context'

describe('parseNumber', () => {
  it('takes plain decimals', () => {
    expect(parseNumber('12', '--epochs')).toBe(12)
    expect(parseNumber('0.001', '--lr')).toBe(0.001)
    expect(parseNumber('1e-3', '--lr')).toBe(0.001)
    expect(parseNumber('-3', '--seed')).toBe(-3)
  })

  it.each(['0x10', ' 5', '5 ', '', 'Infinity', '1e999', '1_000', '0b11', 'NaN', '5px'])(
    'refuses %j, naming the option',
    (value) => {
      expect(() => parseNumber(value, '--epochs')).toThrow(/--epochs must be a number/)
    }
  )

  it('applies the range check', () => {
    expect(() => parseNumber('0', '--epochs', (n) => n > 0, '(a positive integer)')).toThrow(
      '--epochs must be a number (a positive integer), got "0"'
    )
  })
})
