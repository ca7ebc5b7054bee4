// Shared by the kernel and layer tests: deterministic inputs, and the closeness assertion (two float arrays
// agree to within `rel` of the expected's largest magnitude, which must be non-zero, so an all-zero result
// cannot pass by accident).
import { expect } from 'vitest'

/** Deterministic pseudo-random values in [-1, 1) (a 32-bit LCG). */
export function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n)
  let s = seed >>> 0
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    out[i] = s / 2 ** 31 - 1
  }
  return out
}

export function expectClose(actual: Float32Array, expected: Float32Array, rel = 1e-4): void {
  expect(actual.length).toBe(expected.length)
  let scale = 0
  for (const v of expected) scale = Math.max(scale, Math.abs(v))
  let worst = 0
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]))
  expect(scale).toBeGreaterThan(0)
  expect(worst / scale).toBeLessThan(rel)
}
