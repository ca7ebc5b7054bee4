// Shared assertion of the kernel tests: two float arrays agree to within `rel` of the expected's largest
// magnitude (which must be non-zero, so an all-zero result cannot pass by accident).
import { expect } from 'vitest'

export function expectClose(actual: Float32Array, expected: Float32Array, rel = 1e-4): void {
  expect(actual.length).toBe(expected.length)
  let scale = 0
  for (const v of expected) scale = Math.max(scale, Math.abs(v))
  let worst = 0
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]))
  expect(scale).toBeGreaterThan(0)
  expect(worst / scale).toBeLessThan(rel)
}
