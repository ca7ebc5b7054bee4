// Confident learning (Northcutt, Jiang and Chuang, "Confident Learning: Estimating Uncertainty in Dataset
// Labels", JAIR 2021; the method behind cleanlab): from out-of-sample class probabilities, each class j gets
// its own threshold t_j, the mean probability of j over the images labelled j, so a class the model is
// always unsure of is not flagged wholesale. An image labelled i counts toward class j of the confident
// joint when p_j >= t_j (the largest such p_j when several pass); it is a label issue when that j is not i.
// Issues are ranked as cleanlab's `find_label_issues` ranks them: by self-confidence (the lower p_i, the
// more likely wrong) or by normalised margin (p_j - p_i). Pure: no Node, no TF.js.

export interface ClIssue {
  /** Row of the probability matrix. */
  index: number
  label: number
  suggested: number
  /** Higher = more likely wrong (1 - p_label for self-confidence; the margin for normalized-margin). */
  score: number
  labelProbability: number
  suggestedProbability: number
}

export type ClRanking = 'self_confidence' | 'normalized_margin'

/**
 * Per-class thresholds t_j: the mean of p_j over the rows labelled j. A class with no rows gets 1 + eps,
 * which no probability reaches, so no image is sent to a class nothing in the data is labelled with.
 */
export function perClassThresholds(
  probs: Float32Array,
  labels: Int32Array,
  numClasses: number
): Float64Array {
  const sum = new Float64Array(numClasses)
  const count = new Float64Array(numClasses)
  for (let r = 0; r < labels.length; r++) {
    const y = labels[r]
    if (y < 0) continue
    sum[y] += probs[r * numClasses + y]
    count[y]++
  }
  const t = new Float64Array(numClasses)
  for (let j = 0; j < numClasses; j++) t[j] = count[j] > 0 ? sum[j] / count[j] : 1 + 1e-9
  return t
}

/**
 * The label issues of `probs` ([rows, numClasses], row-major, each row out of sample) against `labels`
 * (output indices; -1 rows are skipped), most likely wrong first.
 */
export function findLabelIssues(
  probs: Float32Array,
  labels: Int32Array,
  numClasses: number,
  opts: { ranking?: ClRanking } = {}
): ClIssue[] {
  if (probs.length !== labels.length * numClasses)
    throw new Error(
      `confident learning: ${probs.length} probabilities for ${labels.length} rows x ${numClasses}`
    )
  const t = perClassThresholds(probs, labels, numClasses)
  const ranking = opts.ranking ?? 'self_confidence'
  const issues: ClIssue[] = []
  for (let r = 0; r < labels.length; r++) {
    const y = labels[r]
    if (y < 0) continue
    const row = r * numClasses
    let best = -1
    let bestP = -1
    for (let j = 0; j < numClasses; j++) {
      const p = probs[row + j]
      if (p >= t[j] && p > bestP) {
        best = j
        bestP = p
      }
    }
    if (best < 0 || best === y) continue
    const py = probs[row + y]
    issues.push({
      index: r,
      label: y,
      suggested: best,
      score: ranking === 'self_confidence' ? 1 - py : bestP - py,
      labelProbability: py,
      suggestedProbability: bestP
    })
  }
  // Ties (equal scores) keep row order, so a ranking is the same on every run.
  return issues.sort((a, b) => b.score - a.score || a.index - b.index)
}
