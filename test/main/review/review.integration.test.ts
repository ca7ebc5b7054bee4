// The data review end to end on real GTSRB images through the real backend (createBackend on a temporary
// project file, the engine in process): flipped labels come out on top of the label issues, frames of one
// track come out as near-duplicates and as leaks when a random split puts them apart, and the queue's
// decisions are remembered in the project file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createBackend, type Backend } from '../../../src/main/backend'
import { inProcessRunner, type JobRunner } from '../../../src/main/training/trainingService'
import type { JobResult } from '../../../src/main/ml'
import type { ReviewReport } from '../../../src/shared/review'
import { SHARED_DATA, sharedDataAvailable, tempDir } from '../../helpers'
import { createCompactCnn } from '../../../src/main/ml/models/compact'
import { exportOnnx } from '../../../src/main/ml/export/onnx'
import { initBackend } from '../../../src/main/ml/tfjs/backend'

/** Distinct-looking signs: speed limit 30, priority road, yield, stop, no entry, keep right. */
const CLASSES = [1, 12, 13, 14, 17, 38]

function link(dir: string, split: string, classes: number[], every: number): string {
  for (const c of classes) {
    mkdirSync(join(dir, String(c)), { recursive: true })
    readdirSync(join(SHARED_DATA, split, String(c)))
      .sort()
      .filter((_, i) => i % every === 0)
      .forEach((f) => symlinkSync(join(SHARED_DATA, split, String(c), f), join(dir, String(c), f)))
  }
  return dir
}

describe.skipIf(!sharedDataAvailable())('data review', () => {
  const tmp = tempDir('ts-review-')
  afterAll(() => tmp.remove())

  describe('label issues and the decisions', () => {
    const project = join(tmp.dir, 'labels.tsproj')
    // The first review really runs; later ones get the same job result back, so the second review and the
    // reopened project show what the service does with the remembered decisions, not a new model's noise.
    let cached: JobResult | null = null
    const real = inProcessRunner()
    const runner: JobRunner = async (job, onEvent, signal) => (cached ??= await real(job, onEvent, signal))
    let backend: Backend
    const flipped = new Map<number, number>()
    let report: ReviewReport

    beforeAll(async () => {
      backend = createBackend({ dataDir: join(tmp.dir, 'data'), projectPath: project, runner })
      const folder = link(join(tmp.dir, 'train'), 'gtsrb-train', CLASSES, 3)
      await backend.handlers['library:import']({ folder, labels: 'folders' })
      const classes = await backend.handlers['classes:list']({})
      const images = backend.services.projects.require().repo.trainingImages()
      // Six flips, one out of each class, each to the next class.
      for (const [k, c] of classes.entries()) {
        const img = images.filter((i) => i.classId === c.id)[7]
        const to = classes[(k + 1) % classes.length].id
        await backend.handlers['library:setLabel']({ imageIds: [img.id], classId: to })
        flipped.set(img.id, c.id)
      }
      const events: string[] = []
      const off = backend.on('review-progress', (e) => events.push(`${e.state}:${e.stage}`))
      report = await backend.handlers['review:start']({ folds: 3 })
      off()
      expect(events).toContain('running:training')
      expect(events.at(-1)).toBe('done:finished')
    }, 600_000)
    afterAll(() => backend.dispose())

    it('ranks the flipped labels at the top and suggests their true class', () => {
      expect(report.method.engine).toBe('compact-cnn')
      expect(report.method.folds).toBe(3)
      const top = report.labelIssues.slice(0, flipped.size)
      const hits = top.filter((i) => flipped.has(i.imageId))
      expect(hits.length).toBeGreaterThanOrEqual(flipped.size - 1)
      for (const h of hits) expect(h.suggestedClassId).toBe(flipped.get(h.imageId))
      for (let i = 1; i < report.labelIssues.length; i++)
        expect(report.labelIssues[i].score).toBeLessThanOrEqual(report.labelIssues[i - 1].score)
      expect(report.health.labelled).toBe(report.health.images)
      expect(report.health.perClass.filter((p) => p.total > 0)).toHaveLength(CLASSES.length)
    })

    it('remembers a kept label and an accepted suggestion, across a new review and a reopen', async () => {
      const ids = (r: ReviewReport | null): number[] => (r?.labelIssues ?? []).map((i) => i.imageId)
      const [first, second] = report.labelIssues
      const all = ids(report)
      // Keeping a label changes no label, so the same numbers give the same list, less the kept image.
      await backend.handlers['review:decide']({ imageId: first.imageId, decision: 'keep' })
      expect(ids(await backend.handlers['review:result']({}))).toEqual(
        all.filter((id) => id !== first.imageId)
      )
      expect(ids(await backend.handlers['review:start']({ folds: 3 }))).toEqual(
        all.filter((id) => id !== first.imageId)
      )

      // Accepting relabels through the library, undoably, and the image is not suggested again.
      await backend.handlers['review:decide']({
        imageId: second.imageId,
        decision: 'accept',
        classId: second.suggestedClassId
      })
      expect((await backend.handlers['library:image']({ id: second.imageId })).classId).toBe(
        second.suggestedClassId
      )
      expect((await backend.handlers['library:undoState']({})).canUndo).toBe(true)
      const after = ids(await backend.handlers['review:start']({ folds: 3 }))
      expect(after).not.toContain(first.imageId)
      expect(after).not.toContain(second.imageId)
      expect(after.length).toBeGreaterThan(0)

      // Undoing the accept (the library's undo, in this backend's memory) brings the old label back, and with
      // it the suggestion; redoing it takes both away again.
      await backend.handlers['library:undo']({})
      const undone = ids(await backend.handlers['review:start']({ folds: 3 }))
      expect(undone).toContain(second.imageId)
      expect(undone).not.toContain(first.imageId)
      await backend.handlers['library:redo']({})

      // A new backend on the same file: the decisions are in the project, not in memory.
      await backend.dispose()
      backend = createBackend({ dataDir: join(tmp.dir, 'data'), projectPath: project, runner })
      // The last report is kept beside the project too, and comes back with the decisions applied.
      const restored = await backend.handlers['review:result']({})
      expect(restored?.restored).toBe(true)
      expect(ids(restored)).not.toContain(first.imageId)
      expect(ids(restored)).not.toContain(second.imageId)
      expect(ids(await backend.handlers['review:start']({ folds: 3 }))).toEqual(after)
    })
  })

  describe('near-duplicates, leaks and outliers', () => {
    let backend: Backend
    beforeAll(async () => {
      backend = createBackend({
        dataDir: join(tmp.dir, 'data-dup'),
        projectPath: join(tmp.dir, 'dup.tsproj')
      })
      // gtsrb-test keeps whole tracks: class 14's 30 images are two tracks of 15 consecutive frames.
      const folder = link(join(tmp.dir, 'test'), 'gtsrb-test', [1, 14, 38], 1)
      // Not a sign: random noise, and a flat grey crop.
      const noise = Buffer.alloc(32 * 32 * 3)
      for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24
      writeFileSync(join(folder, '14', 'noise.ppm'), Buffer.concat([Buffer.from('P6\n32 32\n255\n'), noise]))
      writeFileSync(
        join(folder, '38', 'flat.ppm'),
        Buffer.concat([Buffer.from('P6\n32 32\n255\n'), Buffer.alloc(32 * 32 * 3, 128)])
      )
      await backend.handlers['library:import']({ folder, labels: 'folders' })
    }, 120_000)
    afterAll(() => backend.dispose())

    const track = (path: string): string =>
      `${path.split('/').at(-2)}/${path.split('/').pop()!.split('_')[0]}`
    const review = (): Promise<ReviewReport> =>
      backend.services.review.start({ folds: 2, duplicateThreshold: 0.95, seed: 1, skipLabelIssues: true })

    it('pairs frames of one track, flags pairs across a random split, and none across a track split', async () => {
      await backend.handlers['library:split']({ val: 0.2, test: 0.2, groupBy: 'none', seed: 3 })
      const random = await review()
      expect(random.method.search).toBe('usearch')
      expect(random.nearDuplicates.length).toBeGreaterThan(10)
      const sameTrack = random.nearDuplicates.filter((p) => track(p.a.path) === track(p.b.path))
      expect(sameTrack.length / random.nearDuplicates.length).toBeGreaterThan(0.9)
      expect(random.crossSplitPairs).toBeGreaterThan(5)
      for (const p of random.nearDuplicates) expect(p.crossSplit).toBe(p.a.split !== p.b.split)

      await backend.handlers['library:split']({ val: 0.2, test: 0.2, groupBy: 'track', seed: 3 })
      const grouped = await review()
      expect(grouped.nearDuplicates.length).toBe(random.nearDuplicates.length)
      expect(grouped.crossSplitPairs).toBeLessThan(random.crossSplitPairs / 5)
    })

    it('cross-validates a head on the features of an ONNX base when one is given', async () => {
      // A studio compact CNN (random weights) exported to ONNX: its 256 hidden units are the features.
      await initBackend({ logger: () => {} })
      const model = createCompactCnn({ numClasses: 4, inputSize: 32, channels: 16, seed: 1 })
      const onnx = join(tmp.dir, 'base.onnx')
      writeFileSync(onnx, exportOnnx(model))
      model.dispose()
      const r = await backend.handlers['review:start']({ base: { kind: 'onnx', path: onnx } })
      expect(r.method).toMatchObject({
        engine: 'base-features',
        embedding: 'base-features',
        embeddingDim: 256
      })
      expect(r.method.base).toBe(onnx)
      // Three classes: chance is a third; even random features separate these signs better.
      expect(r.method.modelAccuracy).toBeGreaterThan(0.5)
      for (const i of r.labelIssues) expect(i.suggestedClassId).not.toBe(i.classId)
    })

    it('stops when cancelled, says so in its last event, and can run again', async () => {
      const states: string[] = []
      const off = backend.on('review-progress', (e) => {
        states.push(e.state)
        if (e.stage === 'training' && states.filter((s) => s === 'running').length === 1) return
        if (e.stage === 'training') void backend.handlers['review:cancel']({})
      })
      const running = backend.handlers['review:start']({ folds: 2, epochs: 30 })
      await expect(running).rejects.toMatchObject({ messageKey: 'review.cancelled' })
      off()
      expect(states.at(-1)).toBe('cancelled')
      expect(await backend.handlers['review:cancel']({})).toEqual({ cancelled: false })
      // Nothing is left running: the next review starts.
      const r = await review()
      expect(r.nearDuplicates.length).toBeGreaterThan(0)
    })

    it('puts the noise and the flat crop first among the outliers', async () => {
      const r = await review()
      const names = r.outliers.slice(0, 2).map((o) => o.path.split('/').pop())
      expect(names.sort()).toEqual(['flat.ppm', 'noise.ppm'])
      expect(r.outliers[0].score).toBeGreaterThan(1.5)
    })
  })
})
