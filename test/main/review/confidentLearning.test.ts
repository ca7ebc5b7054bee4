// Confident learning on synthetic out-of-sample probabilities: per-class thresholds (not one global cut),
// the class an issue is sent to, and the ranking.
import { describe, expect, it } from 'vitest'
import { findLabelIssues, perClassThresholds } from '../../../src/main/review/confidentLearning'

/** Rows of probabilities (each sums to 1) and their labels. */
function data(rows: { label: number; p: number[] }[]): { probs: Float32Array; labels: Int32Array } {
  return {
    probs: Float32Array.from(rows.flatMap((r) => r.p)),
    labels: Int32Array.from(rows.map((r) => r.label))
  }
}

describe('confident learning', () => {
  // Class 2 is one the model is always unsure of: its own images get p_2 of about 0.4 only.
  const rows = [
    { label: 0, p: [0.9, 0.05, 0.05] },
    { label: 0, p: [0.8, 0.1, 0.1] },
    { label: 0, p: [0.7, 0.1, 0.2] },
    { label: 1, p: [0.1, 0.85, 0.05] },
    { label: 1, p: [0.05, 0.9, 0.05] },
    { label: 1, p: [0.1, 0.8, 0.1] },
    { label: 2, p: [0.3, 0.3, 0.4] },
    { label: 2, p: [0.35, 0.25, 0.4] },
    { label: 2, p: [0.3, 0.28, 0.42] },
    // Row 9: labelled 0 but p_2 = 0.45 is above class 2's threshold (mean 0.41) and p_0 is low: an issue,
    // though 0.45 is below any global cut of 0.5 that a fixed threshold would use.
    { label: 0, p: [0.2, 0.35, 0.45] },
    // Row 10: labelled 1 and clearly class 0: the strongest issue.
    { label: 1, p: [0.95, 0.03, 0.02] },
    // Row 11: labelled 0, an unsure but correct image: p_0 = 0.5 is below t_0, but no other class reaches
    // its own threshold (p_1 = 0.3 < t_1, p_2 = 0.2 < t_2), so it is not an issue.
    { label: 0, p: [0.5, 0.3, 0.2] }
  ]

  it('computes each class threshold as the mean probability of that class over its own images', () => {
    const { probs, labels } = data(rows)
    const t = perClassThresholds(probs, labels, 3)
    expect(t[0]).toBeCloseTo((0.9 + 0.8 + 0.7 + 0.2 + 0.5) / 5, 5)
    expect(t[1]).toBeCloseTo((0.85 + 0.9 + 0.8 + 0.03) / 4, 5)
    expect(t[2]).toBeCloseTo((0.4 + 0.4 + 0.42) / 3, 5)
  })

  it('flags by per-class thresholds, sends each issue to its confident class and ranks by self-confidence', () => {
    const { probs, labels } = data(rows)
    const issues = findLabelIssues(probs, labels, 3)
    expect(issues.map((i) => i.index)).toEqual([10, 9])
    expect(issues[0]).toMatchObject({ label: 1, suggested: 0 })
    expect(issues[0].score).toBeCloseTo(1 - 0.03, 5)
    expect(issues[1]).toMatchObject({ label: 0, suggested: 2 })
    // None of class 2's own unsure images is flagged, and row 9 is, which a fixed cut of 0.5 would miss.
    expect(issues.some((i) => i.label === 2)).toBe(false)
  })

  it('ranks by normalised margin when asked', () => {
    const { probs, labels } = data(rows)
    const issues = findLabelIssues(probs, labels, 3, { ranking: 'normalized_margin' })
    expect(issues.map((i) => i.index)).toEqual([10, 9])
    expect(issues[1].score).toBeCloseTo(0.45 - 0.2, 5)
  })

  it('skips unlabelled rows and refuses a matrix of the wrong size', () => {
    const { probs, labels } = data([...rows, { label: -1, p: [0.1, 0.1, 0.8] }])
    expect(findLabelIssues(probs, labels, 3).map((i) => i.index)).toEqual([10, 9])
    expect(() => findLabelIssues(probs.subarray(1), labels, 3)).toThrow(/probabilities/)
  })
})
