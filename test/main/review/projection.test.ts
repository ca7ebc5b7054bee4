// The review's embedding map (issue 16) on real GTSRB images, through the real review job (pixel embeddings
// as the review computes them, in process): UMAP puts images next to images of their own class far more
// often than chance (shuffled labels on the same map) and than the PCA fallback, the same seed gives the same
// map, a large library is fitted on a sample with the rest placed beside their nearest fitted image, a
// cancel during the layout stops the job, and too few images fall back to PCA.
import { afterAll, describe, expect, it } from 'vitest'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { runJob, type ReviewJob, type ReviewJobResult } from '../../../src/main/ml/worker/jobs'
import type { Example } from '../../../src/main/ml/data/types'
import type { TrainingProgress } from '../../../src/shared/training'
import {
  projectMap,
  projectPca,
  sameClassNeighbourShare,
  UMAP_MIN_POINTS
} from '../../../src/main/review/projection'
import { nearestNeighbours, standardiseRows } from '../../../src/main/review/neighbours'
import { createBatchSource } from '../../../src/main/ml/data/batches'
import { defaultPreprocessing } from '../../../src/main/ml/data/preprocess'
import { mulberry32 } from '../../../src/shared/random'
import { SHARED_DATA, sharedDataAvailable, tempDir } from '../../helpers'

/** Speed limit 30, priority road, yield, stop, keep right: every other frame, 75 of each. */
const CLASSES = [1, 12, 13, 14, 38]

describe.skipIf(!sharedDataAvailable())('the review map (UMAP)', () => {
  const tmp = tempDir('ts-map-')
  afterAll(() => tmp.remove())
  const examples: Example[] = []
  CLASSES.forEach((c, label) => {
    const dir = join(SHARED_DATA, 'gtsrb-train', String(c))
    readdirSync(dir)
      .sort()
      .filter((_, i) => i % 2 === 0)
      .forEach((f) =>
        examples.push({
          imageId: examples.length + 1,
          path: join(dir, f),
          hash: `h${examples.length}`,
          label,
          roi: null
        })
      )
  })
  const labels = Int32Array.from(examples, (e) => e.label)
  const job = (extra: Partial<ReviewJob> = {}): ReviewJob => ({
    kind: 'review',
    examples,
    classes: CLASSES.map((c, index) => ({ index, classId: index + 1, key: String(c), name: String(c) })),
    folds: 2,
    seed: 7,
    cropToRoi: false,
    workDir: tmp.dir,
    featureCacheDir: join(tmp.dir, 'features'),
    duplicateThreshold: 0.97,
    skipLabelIssues: true,
    ...extra
  })
  const xyOf = (r: ReviewJobResult): Float32Array => Float32Array.from(r.projection!.flatMap((p) => p!))
  /** The same measure with the labels shuffled (mean of 5 seeded shuffles): what a map that ignores classes scores. */
  const chance = (xy: Float32Array): number => {
    let sum = 0
    for (let s = 0; s < 5; s++) {
      const random = mulberry32(100 + s)
      const shuffled = Int32Array.from(labels)
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1))
        ;[shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]]
      }
      sum += sameClassNeighbourShare(xy, shuffled)
    }
    return sum / 5
  }
  let first: ReviewJobResult
  /** The review's pixel embedding (3 x 16 x 16, each row standardised), as runReview makes it. */
  const DIM = 768
  let embedding: Float32Array | null = null
  async function pixelEmbedding(): Promise<Float32Array> {
    if (embedding) return embedding
    const x = new Float32Array(examples.length * DIM)
    const row = new Map(examples.map((e, i) => [e, i]))
    const source = createBatchSource({
      examples,
      preprocessing: defaultPreprocessing('compact', { inputSize: 16, cropToRoi: false }),
      batchSize: 256,
      shuffle: false,
      seed: 0
    })
    for await (const b of source.epoch(0, {}))
      b.examples
        .slice(0, b.size)
        .forEach((e, k) => x.set(b.x.subarray(k * DIM, (k + 1) * DIM), row.get(e)! * DIM))
    return (embedding = standardiseRows(x, examples.length, DIM))
  }

  it('separates the classes far better than chance and than PCA, and the same seed gives the same map', async () => {
    const events: TrainingProgress[] = []
    first = (await runJob(job(), (e) => events.push(e))) as ReviewJobResult
    expect(first.mapMethod).toBe('umap')
    expect(first.mapFallback).toBeNull()
    expect(first.mapFitted).toBe(examples.length)
    expect(first.projection!.every((p) => p !== null)).toBe(true)
    const xy = xyOf(first)
    const share = sameClassNeighbourShare(xy, labels)
    const random = chance(xy)
    // Chance is ~1/5; a constant or random map scores that, with the real labels too.
    expect(random).toBeLessThan(0.3)
    expect(share).toBeGreaterThan(0.6)
    expect(share).toBeGreaterThan(random + 0.4)
    // UMAP, not the PCA it replaces: PCA's plane mixes the signs far more (measured: UMAP 0.75, shuffled
    // labels 0.23, PCA 0.27).
    const x = await pixelEmbedding()
    const pcaShare = sameClassNeighbourShare(projectPca(x, examples.length, DIM, 7), labels)
    expect(share).toBeGreaterThan(pcaShare + 0.2)
    // The layout reported its epochs as the map's phase, ending at its total.
    const map = events.filter((e) => e.type === 'phase' && e.phase === 'map')
    expect(map.length).toBeGreaterThan(0)
    const last = map[map.length - 1] as Extract<TrainingProgress, { type: 'phase' }>
    expect(last.done).toBe(last.total)
    const again = (await runJob(job(), () => {})) as ReviewJobResult
    expect(again.projection).toEqual(first.projection)
    const other = (await runJob(job({ seed: 8 }), () => {})) as ReviewJobResult
    expect(other.projection).not.toEqual(first.projection)
  })

  it('above maxFit: fitted on a seeded sample, the rest placed; still separates the classes, same seed same map', async () => {
    const sampled = (await runJob(job({ mapMaxFit: 150 }), () => {})) as ReviewJobResult
    expect(sampled.mapMethod).toBe('umap')
    expect(sampled.mapFitted).toBe(150)
    const xy = xyOf(sampled)
    const share = sameClassNeighbourShare(xy, labels)
    expect(share).toBeGreaterThan(chance(xy) + 0.4)
    expect(((await runJob(job({ mapMaxFit: 150 }), () => {})) as ReviewJobResult).projection).toEqual(
      sampled.projection
    )
  })

  it('a cancel between layout epochs stops it; too few images fall back to PCA', async () => {
    const x = await pixelEmbedding()
    const n = examples.length
    const nn = nearestNeighbours(x, n, DIM, 10)
    const controller = new AbortController()
    let epochs = 0
    await expect(
      projectMap(x, n, DIM, nn, {
        seed: 1,
        signal: controller.signal,
        onEpoch: (done) => {
          epochs = done
          controller.abort()
        }
      })
    ).rejects.toThrow(/cancelled/)
    expect(epochs).toBeGreaterThan(0)
    expect(epochs).toBeLessThan(500)
    const few = UMAP_MIN_POINTS - 1
    const small = x.slice(0, few * DIM)
    const map = await projectMap(small, few, DIM, nearestNeighbours(small, few, DIM, 10), { seed: 1 })
    expect(map.method).toBe('pca')
    expect(map.fallback).toBe('few-images')
    expect(map.xy).toEqual(projectPca(small, few, DIM, 1))
  })
})
