// Streams preprocessed batches from image files for training, feature extraction, evaluation and prediction.
//
// Per epoch: an order (identity, a seeded shuffle, or class-balanced draws with replacement), then batches
// built one after another, `prefetch` ahead of the consumer, each decoding its files with a few concurrent
// reads. Only the prefetched batches are alive at any time. A file that cannot be read or decoded is left
// out of its batch and named in `batch.failed`; it never stops the epoch.
//
// Decoding a 32 px PPM and resizing it to 227 px costs about a millisecond of JS (see the throughput test),
// far below a forward/backward pass of AlexNet on a CPU backend, so this runs on the caller's thread; a
// worker pool would only pay off for large JPEGs on a GPU backend.
import type { Preprocessing } from '../../../shared/training'
import { decodeImage } from '../../image/decode'
import { mixSeed, mulberry32 } from '../../../shared/random'
import { augmentInto, sampleAugmentParams } from './augment'
import { cropImage, inputLength, preprocessInto, validatePreprocessing, type Img } from './preprocess'
import type { Batch, BatchSource, BatchSourceOptions, Example } from './types'

export interface CreateBatchSourceOptions extends BatchSourceOptions {
  /** Reads one example's pixels; default `decodeImage(example.path)` (PPM/PGM/PNG/JPEG/WebP/BMP/GIF). */
  decode?: (e: Example) => Promise<Img>
  /** Files decoded concurrently within a batch (default 4): overlaps file reads, the CPU part is serial. */
  concurrency?: number
}

const defaultDecode = (e: Example): Promise<Img> => decodeImage(e.path)

/**
 * The example indices of one epoch, in order. Deterministic in (seed, epoch). Class-balanced sampling
 * draws `examples.length` times: a class uniformly among those present, then one of its examples uniformly.
 */
export function epochOrder(
  examples: readonly Example[],
  opts: { shuffle: boolean; classBalanced?: boolean; seed: number },
  epochIndex: number
): Int32Array {
  const n = examples.length
  const order = new Int32Array(n)
  const rng = mulberry32(mixSeed(opts.seed, epochIndex, 0x5eed))
  if (opts.classBalanced) {
    const byClass = new Map<number, number[]>()
    examples.forEach((e, i) => {
      const list = byClass.get(e.label)
      if (list) list.push(i)
      else byClass.set(e.label, [i])
    })
    // Sorted so the draw does not depend on the order classes first appear in.
    const groups = [...byClass.keys()].sort((a, b) => a - b).map((k) => byClass.get(k) as number[])
    for (let i = 0; i < n; i++) {
      const g = groups[Math.floor(rng() * groups.length)]
      order[i] = g[Math.floor(rng() * g.length)]
    }
    return order
  }
  for (let i = 0; i < n; i++) order[i] = i
  if (opts.shuffle) {
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1))
      const t = order[i]
      order[i] = order[j]
      order[j] = t
    }
  }
  return order
}

/**
 * A BatchSource over `opts.examples`. Aborting `signal` makes the iteration throw the signal's reason
 * (an AbortError) within about one image's work; breaking out of the loop stops the prefetching too.
 * A batch whose every file failed is still yielded, with `size === 0`, so the failures get reported.
 */
export function createBatchSource(opts: CreateBatchSourceOptions): BatchSource {
  validatePreprocessing(opts.preprocessing)
  if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) {
    throw new Error(`batchSize must be a positive integer, got ${opts.batchSize}`)
  }
  const examples = opts.examples
  const prep: Preprocessing = opts.preprocessing
  const batchSize = opts.batchSize
  const prefetch = Math.max(0, opts.prefetch ?? 2)
  const concurrency = Math.max(1, opts.concurrency ?? 4)
  const decode = opts.decode ?? defaultDecode
  // Augmentation belongs to training, which is what `shuffle` stands for (see BatchSourceOptions).
  const aug = opts.shuffle && opts.augmentation?.enabled ? opts.augmentation : null
  const mirror = aug ? (opts.mirror ?? null) : null
  const stride = inputLength(prep)
  const batchesPerEpoch = Math.ceil(examples.length / batchSize)

  async function buildBatch(
    order: Int32Array,
    epochIndex: number,
    b: number,
    signal: AbortSignal
  ): Promise<Batch> {
    signal.throwIfAborted()
    const start = b * batchSize
    const count = Math.min(batchSize, order.length - start)
    const x = new Float32Array(count * stride)
    const ok = new Uint8Array(count)
    // The label of each position: the example's, or its mirror twin's when the image was mirrored.
    const labels = new Int32Array(count)
    const failed: Batch['failed'] = []
    const failedAt = new Map<number, string>()
    let next = 0
    const runner = async (): Promise<void> => {
      for (;;) {
        const j = next++
        if (j >= count) return
        signal.throwIfAborted()
        const ex = examples[order[start + j]]
        try {
          const img = await decode(ex)
          signal.throwIfAborted()
          if (aug) {
            const base = prep.cropToRoi && ex.roi ? cropImage(img, ex.roi) : img
            const rng = mulberry32(mixSeed(opts.seed, epochIndex, start + j))
            const params = sampleAugmentParams(aug, rng, base.width, base.height)
            labels[j] = ex.label
            // Drawn after the other parameters, so mirroring does not change them.
            const twin = mirror && ex.label >= 0 && ex.label < mirror.length ? mirror[ex.label] : -1
            if (twin >= 0 && !params.flip && rng() < 0.5) {
              params.flip = true
              labels[j] = twin
            }
            const data = new Uint8Array(base.width * base.height * 3)
            augmentInto(data, base, params)
            preprocessInto(x, j * stride, { width: base.width, height: base.height, data }, prep, null)
          } else {
            labels[j] = ex.label
            preprocessInto(x, j * stride, img, prep, ex.roi)
          }
          ok[j] = 1
        } catch (err) {
          if (signal.aborted) throw signal.reason
          failedAt.set(j, err instanceof Error ? err.message : String(err))
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, runner))
    signal.throwIfAborted()

    const batchExamples: Example[] = []
    const y: number[] = []
    let out = x
    if (failedAt.size > 0) {
      out = new Float32Array((count - failedAt.size) * stride)
    }
    let k = 0
    for (let j = 0; j < count; j++) {
      const ex = examples[order[start + j]]
      if (!ok[j]) {
        failed.push({ path: ex.path, reason: failedAt.get(j) ?? 'unknown error' })
        continue
      }
      if (out !== x) out.set(x.subarray(j * stride, (j + 1) * stride), k * stride)
      batchExamples.push(ex)
      y.push(labels[j])
      k++
    }
    return { x: out, y: Int32Array.from(y), size: k, examples: batchExamples, failed }
  }

  async function* epoch(epochIndex: number, eopts: { signal?: AbortSignal } = {}): AsyncGenerator<Batch> {
    const outer = eopts.signal
    outer?.throwIfAborted()
    const local = new AbortController()
    const onAbort = (): void => local.abort(outer?.reason)
    outer?.addEventListener('abort', onAbort, { once: true })
    const order = epochOrder(
      examples,
      { shuffle: opts.shuffle, classBalanced: opts.classBalanced, seed: opts.seed },
      epochIndex
    )
    const pending: Promise<Batch>[] = []
    let chain: Promise<unknown> = Promise.resolve()
    let started = 0
    // Batches are built one after the other (JS work does not overlap anyway) but ahead of the consumer.
    const startNext = (): void => {
      const b = started++
      const p = chain.then(() => buildBatch(order, epochIndex, b, local.signal))
      p.catch(() => undefined) // observed when awaited; avoid an unhandled rejection for prefetched ones
      chain = p.catch(() => undefined)
      pending.push(p)
    }
    try {
      for (let b = 0; b < batchesPerEpoch; b++) {
        while (started < batchesPerEpoch && started <= b + prefetch) startNext()
        const batch = await (pending.shift() as Promise<Batch>)
        local.signal.throwIfAborted()
        yield batch
      }
    } finally {
      // Consumer broke out, aborted, or finished: stop any prefetching still running.
      if (!local.signal.aborted) local.abort(new Error('batch source closed'))
      outer?.removeEventListener('abort', onAbort)
    }
  }

  return {
    numExamples: examples.length,
    batchSize,
    batchesPerEpoch,
    epoch
  }
}
