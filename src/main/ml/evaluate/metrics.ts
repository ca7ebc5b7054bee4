// Metrics from predicted probabilities: accuracy, top-5, confusion matrix, per-class precision/recall and
// the misclassified images, most confident mistakes first. Pure: the caller runs the model.
import type { ClassMetrics, EvaluationResult, Misclassified } from '../../../shared/training'
import type { Example } from '../data/types'

export interface EvaluateInput {
  /** examples.length x numClasses, row-major. */
  probabilities: Float32Array
  numClasses: number
  /** Output index per example (0..numClasses-1). */
  labels: Int32Array
  examples: readonly Example[]
  /** Output index -> class, one entry per index. */
  classes: readonly { index: number; classId: number; name: string }[]
  /** Files that could not be read (from the batches), passed through to the result. */
  failed?: { path: string; reason: string }[]
}

/** Index of the largest value in row `r` (the first one on ties). */
export function argmaxRow(p: Float32Array, r: number, n: number): number {
  let best = 0
  let bv = p[r * n]
  for (let j = 1; j < n; j++) {
    const v = p[r * n + j]
    if (v > bv) {
      bv = v
      best = j
    }
  }
  return best
}

/**
 * Precision of a class that was never predicted is 0, and recall of a class with no images is 0 (like
 * scikit-learn's zero_division=0): the UI shows support next to it, so "0 of 0" is not mistaken for a failure.
 * Top-5 counts a hit when fewer than 5 classes have a strictly higher probability than the label's.
 */
export function evaluatePredictions(input: EvaluateInput): EvaluationResult {
  const { probabilities: p, numClasses: n, labels, examples } = input
  const m = examples.length
  if (!Number.isInteger(n) || n < 1) throw new Error(`numClasses must be a positive integer, got ${n}`)
  if (labels.length !== m) throw new Error(`labels has ${labels.length} entries for ${m} examples`)
  if (p.length !== m * n)
    throw new Error(`probabilities has ${p.length} values, expected ${m} x ${n} = ${m * n}`)
  const byIndex = new Array<{ classId: number; name: string } | undefined>(n)
  for (const c of input.classes) {
    if (!Number.isInteger(c.index) || c.index < 0 || c.index >= n)
      throw new Error(`class index ${c.index} is outside 0..${n - 1}`)
    if (byIndex[c.index]) throw new Error(`class index ${c.index} is listed twice`)
    byIndex[c.index] = { classId: c.classId, name: c.name }
  }
  const missingIndex = byIndex.findIndex((c) => !c)
  if (missingIndex >= 0) throw new Error(`no class given for output index ${missingIndex}`)
  const cls = byIndex as { classId: number; name: string }[]

  const confusion = Array.from({ length: n }, () => new Array<number>(n).fill(0))
  const misclassified: Misclassified[] = []
  const k = Math.min(5, n)
  let correct = 0
  let top5 = 0
  for (let i = 0; i < m; i++) {
    const label = labels[i]
    if (!Number.isInteger(label) || label < 0 || label >= n) {
      throw new Error(
        `example ${examples[i].path} has label ${label}, outside 0..${n - 1}; evaluate labelled images only`
      )
    }
    const pred = argmaxRow(p, i, n)
    confusion[label][pred]++
    if (pred === label) correct++
    else {
      misclassified.push({
        imageId: examples[i].imageId,
        path: examples[i].path,
        labelClassId: cls[label].classId,
        predictedClassId: cls[pred].classId,
        confidence: p[i * n + pred]
      })
    }
    const pl = p[i * n + label]
    let higher = 0
    for (let j = 0; j < n && higher < k; j++) if (p[i * n + j] > pl) higher++
    if (higher < k) top5++
  }

  const perClass: ClassMetrics[] = cls.map((c, j) => {
    let predicted = 0
    let support = 0
    for (let i = 0; i < n; i++) {
      predicted += confusion[i][j]
      support += confusion[j][i]
    }
    const tp = confusion[j][j]
    return {
      classId: c.classId,
      name: c.name,
      precision: predicted > 0 ? tp / predicted : 0,
      recall: support > 0 ? tp / support : 0,
      support
    }
  })

  // Most confident mistakes first (these are the likely label errors); path breaks ties for a stable order.
  misclassified.sort(
    (a, b) => b.confidence - a.confidence || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
  )

  return {
    images: m,
    accuracy: m > 0 ? correct / m : 0,
    top5Accuracy: m > 0 ? top5 / m : 0,
    classIds: cls.map((c) => c.classId),
    confusion,
    perClass,
    misclassified,
    failed: input.failed ?? []
  }
}
