// The neighbour search behind near-duplicates: the HNSW index (usearch) loads here and finds what an exact
// scan finds; pairs are deduplicated and cut at the threshold; a flat image embeds as zeros.
import { describe, expect, it } from 'vitest'
import {
  duplicatePairs,
  nearestNeighbours,
  outlierScores,
  standardiseRows
} from '../../../src/main/review/neighbours'
import { mulberry32 } from '../../../src/shared/random'

function clusters(n: number, d: number, seed: number): Float32Array {
  const rand = mulberry32(seed)
  const x = new Float32Array(n * d)
  let base = new Float32Array(d)
  for (let i = 0; i < n; i++) {
    if (i % 5 === 0) base = Float32Array.from({ length: d }, () => rand() - 0.5)
    for (let k = 0; k < d; k++) x[i * d + k] = base[k] + 0.02 * (rand() - 0.5)
  }
  return standardiseRows(x, n, d)
}

describe('nearest neighbours', () => {
  it('uses the native HNSW index and agrees with an exact scan', () => {
    const n = 400
    const d = 32
    const x = clusters(n, d, 1)
    const ann = nearestNeighbours(x, n, d, 4)
    const exact = nearestNeighbours(x, n, d, 4, { exact: true })
    expect(ann.search).toBe('usearch')
    expect(exact.search).toBe('exact')
    let same = 0
    for (let r = 0; r < n; r++) {
      const truth = new Set(exact.index.subarray(r * 4, r * 4 + 4))
      for (const k of ann.index.subarray(r * 4, r * 4 + 4)) if (truth.has(k)) same++
    }
    expect(same / (n * 4)).toBeGreaterThan(0.95)
    // Each row's four neighbours are the other members of its cluster of five, never itself.
    for (let r = 0; r < n; r++) {
      const got = [...exact.index.subarray(r * 4, r * 4 + 4)].sort((a, b) => a - b)
      const cluster = [0, 1, 2, 3, 4].map((k) => Math.floor(r / 5) * 5 + k).filter((k) => k !== r)
      expect(got).toEqual(cluster)
    }
    // The same neighbour has the same similarity both ways (the order of near ties may differ).
    for (let r = 0; r < n; r++) {
      const truth = new Map(
        [...exact.index.subarray(r * 4, r * 4 + 4)].map((k, c) => [k, exact.similarity[r * 4 + c]])
      )
      for (let c = 0; c < 4; c++) {
        const s = truth.get(ann.index[r * 4 + c])
        if (s !== undefined) expect(Math.abs(ann.similarity[r * 4 + c] - s)).toBeLessThan(1e-3)
      }
    }
  })

  it('gives each pair above the threshold once, most similar first', () => {
    const x = clusters(50, 16, 2)
    const nn = nearestNeighbours(x, 50, 16, 6)
    const pairs = duplicatePairs(nn, 0.99)
    // Ten clusters of five: C(5, 2) = 10 pairs each, none across clusters.
    expect(pairs).toHaveLength(100)
    expect(new Set(pairs.map((p) => `${p.a}-${p.b}`)).size).toBe(100)
    for (const p of pairs) {
      expect(p.a).toBeLessThan(p.b)
      expect(Math.floor(p.a / 5)).toBe(Math.floor(p.b / 5))
    }
    for (let i = 1; i < pairs.length; i++)
      expect(pairs[i].similarity).toBeLessThanOrEqual(pairs[i - 1].similarity)
    expect(duplicatePairs(nn, 1.01)).toHaveLength(0)
  })

  it('embeds a flat image as zeros and scores a row unlike any class as an outlier', () => {
    const d = 16
    const x = clusters(41, d, 3)
    x.fill(7, 40 * d)
    standardiseRows(x, 41, d)
    expect([...x.subarray(40 * d)].every((v) => v === 0)).toBe(true)
    const labels = Int32Array.from({ length: 41 }, (_, i) => (i === 40 ? 0 : Math.floor(i / 5) % 4))
    const scores = outlierScores(x, 41, d, labels, 4)
    const ranked = [...scores.keys()].sort((a, b) => scores[b] - scores[a])
    expect(ranked[0]).toBe(40)
  })
})
