// How many threads a training run computes each step on, and how much faster that is than one: TF-free, so the
// trainer (dataParallel.ts), the doctor and the backend's estimate (which must not load TF.js) read one rule.
import { availableParallelism } from 'node:os'
import type { BackendName } from '../../../shared/training'

/** Most threads a run uses by default: each holds a copy of the model, and 8 is where the speed-up was measured. */
export const MAX_DEFAULT_THREADS = 8

/**
 * How many threads a training run should use: `TS_TRAIN_THREADS` when set (1 = off), else one per core on wasm
 * (at most MAX_DEFAULT_THREADS; native backends are multi-threaded themselves, cpu is too slow to matter), else 1.
 */
export function trainThreads(
  backend: BackendName,
  env: Record<string, string | undefined> = process.env,
  cores: number = availableParallelism()
): number {
  const forced = Number(env.TS_TRAIN_THREADS)
  if (Number.isInteger(forced) && forced >= 1) return Math.min(forced, 64)
  return backend === 'wasm' ? Math.max(1, Math.min(cores, MAX_DEFAULT_THREADS)) : 1
}

/**
 * Speed of a step on `threads` threads relative to one: each thread past the first added about 0.6 of one in
 * bench/threads.ts (compact CNN and full AlexNet, 1 to 2 threads on the 2-core development machine).
 */
export function threadSpeedup(threads: number): number {
  return 1 + 0.6 * (Math.max(1, threads) - 1)
}
