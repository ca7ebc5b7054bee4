// Fold assignment for the review's cross-validation: stratified (each class spread evenly over the folds, so
// every fold model sees every class) and deterministic by seed. Folds are random within a class, not grouped
// by track: a mislabelled frame's correctly labelled neighbours in the other folds are exactly what lets the
// held-out model contradict its label. Pure.
import { mixSeed, mulberry32 } from '../../shared/random'

/** Fold index (0..folds-1) per row of `labels` (output indices). */
export function stratifiedFolds(labels: ArrayLike<number>, folds: number, seed: number): Int32Array {
  if (!(Number.isInteger(folds) && folds >= 2)) throw new Error(`folds must be an integer >= 2, got ${folds}`)
  const byClass = new Map<number, number[]>()
  for (let i = 0; i < labels.length; i++) {
    const rows = byClass.get(labels[i])
    if (rows) rows.push(i)
    else byClass.set(labels[i], [i])
  }
  const out = new Int32Array(labels.length)
  // Each class starts at a different fold, so small classes do not all pile into fold 0.
  let offset = 0
  for (const [label, rows] of [...byClass.entries()].sort((a, b) => a[0] - b[0])) {
    const rand = mulberry32(mixSeed(seed, label))
    for (let i = rows.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1))
      ;[rows[i], rows[j]] = [rows[j], rows[i]]
    }
    rows.forEach((row, k) => (out[row] = (k + offset) % folds))
    offset += rows.length
  }
  return out
}
