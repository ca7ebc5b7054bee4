// Which completed run a picker starts on: the best one, by test accuracy where the run has one (the held-out
// measure), else by validation accuracy. Pure, so the rule is tested without a view.
import type { RunSummary } from '@shared/training'

type Scored = Pick<RunSummary, 'id' | 'status' | 'testAccuracy' | 'valAccuracy'>

/** The accuracy a run is judged by, and which split it comes from; null when it has neither. */
export function runAccuracy(run: Scored): { split: 'test' | 'val'; value: number } | null {
  if (run.testAccuracy !== null) return { split: 'test', value: run.testAccuracy }
  if (run.valAccuracy !== null) return { split: 'val', value: run.valAccuracy }
  return null
}

/**
 * The best completed run: highest test accuracy; runs without a test accuracy rank after those with one,
 * by validation accuracy; ties go to the newer run. Null when no run completed.
 */
export function bestRun<T extends Scored>(runs: readonly T[]): T | null {
  const completed = runs.filter((r) => r.status === 'completed')
  const score = (r: T): [number, number, number] => [
    r.testAccuracy ?? -1,
    r.testAccuracy === null ? (r.valAccuracy ?? -1) : 0,
    r.id
  ]
  let best: T | null = null
  for (const r of completed) {
    if (!best) best = r
    else {
      const a = score(r)
      const b = score(best)
      if (a[0] > b[0] || (a[0] === b[0] && (a[1] > b[1] || (a[1] === b[1] && a[2] > b[2])))) best = r
    }
  }
  return best
}
