// What one run has streamed, kept by the training service so a client that (re)connects mid-run gets the
// run's whole history before it continues with the live stream (`training:history`). Memory stays bounded:
// one 'started', one 'phase', one 'epoch' per epoch, the end, and at most MAX_LOGGED_BATCHES batches.
import type { TrainingEvent } from '../../shared/training'

/** Batch events kept per run; beyond it the older half is thinned to every other batch. */
export const MAX_LOGGED_BATCHES = 4000

type Of<T extends TrainingEvent['type']> = Extract<TrainingEvent, { type: T }>

/** A batch's place in the run: batches done before it, counting whole epochs. */
export function batchStep(e: { epoch: number; batch: number; batchesPerEpoch: number }): number {
  return (e.epoch - 1) * e.batchesPerEpoch + e.batch
}

export class RunLog {
  private started: Of<'started'> | null = null
  private phase: Of<'phase'> | null = null
  private batches: Of<'batch'>[] = []
  private epochs: Of<'epoch'>[] = []
  private end: TrainingEvent | null = null

  constructor(private readonly maxBatches = MAX_LOGGED_BATCHES) {}

  add(e: TrainingEvent): void {
    switch (e.type) {
      case 'started':
        // A resume starts again: the previous attempt's end no longer holds.
        this.started = e
        this.end = null
        break
      case 'phase':
        this.phase = e
        break
      case 'batch': {
        // A resumed epoch redoes batches: the ones it supersedes go, so the steps stay increasing.
        const step = batchStep(e)
        while (this.batches.length > 0 && batchStep(this.batches[this.batches.length - 1]) >= step)
          this.batches.pop()
        this.batches.push(e)
        if (this.batches.length > this.maxBatches) {
          const half = Math.floor(this.batches.length / 2)
          this.batches = [
            ...this.batches.slice(0, half).filter((_, i) => i % 2 === 0),
            ...this.batches.slice(half)
          ]
        }
        break
      }
      case 'epoch':
        this.epochs = [...this.epochs.filter((x) => x.epoch < e.epoch), e]
        break
      default:
        this.end = e
    }
  }

  /** The kept events in the order they went out (by `seq`). */
  events(): TrainingEvent[] {
    const all: TrainingEvent[] = [...this.batches, ...this.epochs]
    if (this.started) all.push(this.started)
    if (this.phase) all.push(this.phase)
    if (this.end) all.push(this.end)
    return all.sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0))
  }
}
