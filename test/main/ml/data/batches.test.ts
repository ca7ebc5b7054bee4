import { copyFileSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SHARED_DATA, sharedDataAvailable, tempDir } from '../../../helpers'
import type { Augmentation } from '../../../../src/shared/training'
import { createBatchSource, epochOrder } from '../../../../src/main/ml/data/batches'
import { cropImage, defaultPreprocessing, preprocess } from '../../../../src/main/ml/data/preprocess'
import { decodeImage } from '../../../../src/main/image/decode'
import type { Batch, Example } from '../../../../src/main/ml/data/types'

const AUG: Augmentation = {
  enabled: true,
  shift: 0.1,
  rotationDeg: 10,
  scale: 0.1,
  brightness: 0.2,
  contrast: 0.2,
  horizontalFlip: false
}

/** `count` files of GTSRB class `classId` as examples with output index `label`. */
function classExamples(classId: number, label: number, count: number): Example[] {
  const dir = join(SHARED_DATA, 'gtsrb-train', String(classId))
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ppm'))
    .sort()
    .slice(0, count)
    .map((f) => ({ imageId: null, path: join(dir, f), hash: '', label, roi: null }))
}

async function collect(it: AsyncIterable<Batch>): Promise<Batch[]> {
  const out: Batch[] = []
  for await (const b of it) out.push(b)
  return out
}

describe.skipIf(!sharedDataAvailable())('createBatchSource on real GTSRB PPMs', () => {
  let examples: Example[]
  let tmp: { dir: string; remove: () => void }
  beforeAll(() => {
    // Imbalanced: 60 / 10 / 20 images of classes 14 (stop), 1, 33.
    examples = [...classExamples(14, 0, 60), ...classExamples(1, 1, 10), ...classExamples(33, 2, 20)]
    tmp = tempDir()
  })
  afterAll(() => tmp.remove())

  it('yields NHWC batches whose pixels and labels match their examples (no shuffle = file order)', async () => {
    const prep = defaultPreprocessing('alexnet', { inputSize: 64 })
    const src = createBatchSource({ examples, preprocessing: prep, batchSize: 16, shuffle: false, seed: 1 })
    expect(src.batchesPerEpoch).toBe(6)
    expect(src.numExamples).toBe(90)
    const batches = await collect(src.epoch(0))
    expect(batches.map((b) => b.size)).toEqual([16, 16, 16, 16, 16, 10])
    const all = batches.flatMap((b) => b.examples)
    expect(all.map((e) => e.path)).toEqual(examples.map((e) => e.path))
    const stride = 64 * 64 * 3
    for (const b of batches) {
      expect(b.x.length).toBe(b.size * stride)
      expect(Array.from(b.y)).toEqual(b.examples.map((e) => e.label))
      expect(b.failed).toEqual([])
    }
    // Spot-check: batch 2, item 5 is exactly the single-image preprocessing of its file.
    const b = batches[2]
    const ref = preprocess(await decodeImage(b.examples[5].path), prep)
    expect(Array.from(b.x.subarray(5 * stride, 6 * stride))).toEqual(Array.from(ref))
  })

  it('crops to the ROI when the preprocessing asks for it (with and without augmentation)', async () => {
    const roi = { x1: 5, y1: 6, x2: 27, y2: 26 }
    const set = examples.slice(0, 3).map((e) => ({ ...e, roi }))
    const prep = defaultPreprocessing('compact', { cropToRoi: true })
    const [b] = await collect(
      createBatchSource({ examples: set, preprocessing: prep, batchSize: 3, shuffle: false, seed: 0 }).epoch(
        0
      )
    )
    const img = await decodeImage(set[1].path)
    const stride = 32 * 32 * 3
    expect(Array.from(b.x.subarray(stride, 2 * stride))).toEqual(
      Array.from(preprocess(cropImage(img, roi), { ...prep, cropToRoi: false }))
    )
    expect(Array.from(b.x.subarray(stride, 2 * stride))).not.toEqual(
      Array.from(preprocess(img, { ...prep, cropToRoi: false }))
    )
    // Augmentation with zero amplitudes is the identity, so the crop must survive the augmentation path too.
    const zero = { ...AUG, shift: 0, rotationDeg: 0, scale: 0, brightness: 0, contrast: 0 }
    const order = Array.from(epochOrder(set, { shuffle: true, seed: 9 }, 0))
    const [c] = await collect(
      createBatchSource({
        examples: set,
        preprocessing: prep,
        batchSize: 3,
        shuffle: true,
        augmentation: zero,
        seed: 9
      }).epoch(0)
    )
    const k = order.indexOf(1)
    expect(Array.from(c.x.subarray(k * stride, (k + 1) * stride))).toEqual(
      Array.from(b.x.subarray(stride, 2 * stride))
    )
  })

  it('shuffles deterministically by (seed, epoch) and covers every example once per epoch', async () => {
    const opts = { shuffle: true, seed: 123 }
    const a = Array.from(epochOrder(examples, opts, 0))
    expect(Array.from(epochOrder(examples, opts, 0))).toEqual(a)
    expect(Array.from(epochOrder(examples, opts, 1))).not.toEqual(a)
    expect(Array.from(epochOrder(examples, { ...opts, seed: 124 }, 0))).not.toEqual(a)
    expect([...a].sort((x, y) => x - y)).toEqual(examples.map((_, i) => i))
    expect(a).not.toEqual(examples.map((_, i) => i))

    // The same through the batch source, with augmentation: same pixels for the same seed and epoch.
    const prep = defaultPreprocessing('compact')
    const mk = (): ReturnType<typeof createBatchSource> =>
      createBatchSource({
        examples,
        preprocessing: prep,
        batchSize: 32,
        shuffle: true,
        augmentation: AUG,
        seed: 123
      })
    const [b1, b2] = await Promise.all([collect(mk().epoch(0)), collect(mk().epoch(0))])
    expect(b1.flatMap((b) => b.examples.map((e) => e.path))).toEqual(a.map((i) => examples[i].path))
    expect(Array.from(b1[0].x)).toEqual(Array.from(b2[0].x))
    // Augmentation really changed the pixels compared with the plain preprocessing.
    const plain = preprocess(await decodeImage(b1[0].examples[0].path), prep)
    expect(Array.from(b1[0].x.subarray(0, plain.length))).not.toEqual(Array.from(plain))
  })

  it('class-balanced sampling draws the classes about equally on an imbalanced set', async () => {
    const counts = [0, 0, 0]
    for (let e = 0; e < 20; e++)
      for (const i of epochOrder(examples, { shuffle: true, classBalanced: true, seed: 5 }, e))
        counts[examples[i].label]++
    // 20 epochs x 90 draws = 1800, 600 expected per class (natural frequencies would give 1200/200/400).
    for (const c of counts) expect(Math.abs(c - 600)).toBeLessThan(90)
    const src = createBatchSource({
      examples,
      preprocessing: defaultPreprocessing('compact'),
      batchSize: 30,
      shuffle: true,
      classBalanced: true,
      seed: 5
    })
    const labels = (await collect(src.epoch(3))).flatMap((b) => Array.from(b.y))
    expect(labels.length).toBe(90)
    expect(labels.filter((l) => l === 1).length).toBeGreaterThan(15) // 10 of 90 files, ~30 draws
  })

  it('reports a corrupt or missing file in batch.failed and goes on', async () => {
    const good = examples.slice(0, 7)
    const bad = join(tmp.dir, 'truncated.ppm')
    writeFileSync(bad, readFileSync(good[0].path).subarray(0, 200))
    const garbage = join(tmp.dir, 'garbage.ppm')
    writeFileSync(garbage, 'hello, not an image')
    copyFileSync(good[1].path, join(tmp.dir, 'fine.ppm'))
    const set: Example[] = [
      ...good.slice(0, 3),
      { ...good[0], path: bad },
      ...good.slice(3),
      { ...good[0], path: garbage },
      { ...good[0], path: join(tmp.dir, 'missing.ppm') },
      { ...good[1], path: join(tmp.dir, 'fine.ppm') }
    ]
    const src = createBatchSource({
      examples: set,
      preprocessing: defaultPreprocessing('compact'),
      batchSize: 4,
      shuffle: false,
      seed: 0
    })
    const batches = await collect(src.epoch(0))
    expect(batches.map((b) => b.size)).toEqual([3, 4, 1])
    expect(batches.reduce((n, b) => n + b.size, 0)).toBe(8)
    const failed = batches.flatMap((b) => b.failed)
    expect(failed.map((f) => f.path)).toEqual([bad, garbage, join(tmp.dir, 'missing.ppm')])
    for (const f of failed) expect(f.reason.length).toBeGreaterThan(5)
    expect(batches[2].x.length).toBe(32 * 32 * 3)
    expect(batches[2].examples[0].path).toBe(join(tmp.dir, 'fine.ppm'))
  })

  it('abort stops the epoch promptly with an AbortError, and prefetch stays bounded', async () => {
    let decodes = 0
    const slowDecode = async (e: Example): Promise<{ width: number; height: number; data: Uint8Array }> => {
      decodes++
      await new Promise((r) => setTimeout(r, 20))
      return decodeImage(e.path)
    }
    const src = createBatchSource({
      examples,
      preprocessing: defaultPreprocessing('compact'),
      batchSize: 5,
      shuffle: false,
      seed: 0,
      prefetch: 1,
      concurrency: 1,
      decode: slowDecode
    })
    const ac = new AbortController()
    const seen: number[] = []
    const t0 = Date.now()
    let abortedAt = 0
    const run = (async () => {
      for await (const b of src.epoch(0, { signal: ac.signal })) {
        seen.push(b.size)
        if (seen.length === 2) {
          // Consumer is slow: prefetch 1 means at most one more batch (5 decodes) happens meanwhile.
          await new Promise((r) => setTimeout(r, 400))
          expect(decodes).toBeLessThanOrEqual(4 * 5)
          abortedAt = Date.now()
          ac.abort()
        }
      }
    })()
    await expect(run).rejects.toThrow(/abort/i)
    expect(seen).toEqual([5, 5])
    expect(Date.now() - abortedAt).toBeLessThan(200)
    expect(Date.now() - t0).toBeLessThan(3000)
    const before = decodes
    await new Promise((r) => setTimeout(r, 100))
    expect(decodes - before).toBeLessThanOrEqual(1)
    // An aborted signal refuses to start.
    await expect(collect(src.epoch(1, { signal: ac.signal }))).rejects.toThrow(/abort/i)
  })

  it('breaking out of the loop stops prefetching', async () => {
    let decodes = 0
    const src = createBatchSource({
      examples,
      preprocessing: defaultPreprocessing('compact'),
      batchSize: 5,
      shuffle: false,
      seed: 0,
      prefetch: 2,
      decode: async (e) => {
        decodes++
        await new Promise((r) => setTimeout(r, 5))
        return decodeImage(e.path)
      }
    })
    for await (const b of src.epoch(0)) {
      expect(b.size).toBe(5)
      break
    }
    await new Promise((r) => setTimeout(r, 200))
    expect(decodes).toBeLessThanOrEqual(5 * 4)
  })

  it('measures decode+preprocess throughput to 227 and to 32 (reported, not asserted beyond sanity)', async () => {
    const many = [...classExamples(2, 0, 150), ...classExamples(3, 1, 150)]
    for (const [name, prep] of [
      ['227 BGR', defaultPreprocessing('alexnet')],
      ['32 RGB', defaultPreprocessing('compact')]
    ] as const) {
      const src = createBatchSource({
        examples: many,
        preprocessing: prep,
        batchSize: 50,
        shuffle: false,
        seed: 0
      })
      await collect(src.epoch(0)) // warm-up (file cache, JIT)
      const t0 = performance.now()
      const n = (await collect(src.epoch(1))).reduce((s, b) => s + b.size, 0)
      const s = (performance.now() - t0) / 1000
      console.log(
        `decode+preprocess to ${name}: ${(n / s).toFixed(0)} images/s (${n} images, ${s.toFixed(2)} s)`
      )
      expect(n).toBe(300)
    }
  })
})
