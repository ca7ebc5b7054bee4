// The last review survives a restart (issue 16): the report a review built is written beside the project
// (`<project>.review/last.json`) and read back by a new backend on the same file, with the decisions made
// since applied and the images removed from the library since left out. A damaged, foreign-version or
// oversized file means "no report", with a warning, never an error. Real SQLite projects, real GTSRB frames,
// the engine in process; each review is 36 images, 2 folds, a few epochs (seconds).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync
} from 'node:fs'
import { join } from 'node:path'
import { createBackend, type Backend } from '../../../src/main/backend'
import {
  MAX_REVIEW_FILE_BYTES,
  REVIEW_FILE_VERSION,
  ReviewService
} from '../../../src/main/review/reviewService'
import { inProcessRunner } from '../../../src/main/training/trainingService'
import type { ReviewReport } from '../../../src/shared/review'
import { lastReviewFile } from '../../../src/main/project/paths'
import { SHARED_DATA, sharedDataAvailable, tempDir } from '../../helpers'

/** Stop, no entry, keep right: the last 12 frames of a gtsrb-test track each (adjacent frames near-identical). */
const CLASSES = ['14', '17', '38']

const imageIds = (r: ReviewReport): Set<number> =>
  new Set([
    ...r.labelIssues.map((i) => i.imageId),
    ...r.nearDuplicates.flatMap((p) => [p.a.imageId, p.b.imageId]),
    ...r.outliers.map((o) => o.imageId),
    ...(r.map ?? []).map((p) => p.imageId)
  ])
const issueIds = (r: ReviewReport | null): number[] => (r?.labelIssues ?? []).map((i) => i.imageId)

describe.skipIf(!sharedDataAvailable())('the last review, kept beside the project', () => {
  const tmp = tempDir('ts-review-persist-')
  const images = join(tmp.dir, 'signs')
  const dataDir = join(tmp.dir, 'data')
  const open: Backend[] = []
  afterAll(async () => {
    for (const b of open) await b.dispose()
    tmp.remove()
  })

  beforeAll(() => {
    for (const cls of CLASSES) {
      mkdirSync(join(images, cls), { recursive: true })
      const source = join(SHARED_DATA, 'gtsrb-test', cls)
      for (const f of readdirSync(source).sort().slice(-12))
        copyFileSync(join(source, f), join(images, cls, f))
    }
  })

  function backendOn(project: string): Backend {
    const b = createBackend({ dataDir, projectPath: project, runner: inProcessRunner() })
    open.push(b)
    return b
  }
  async function close(b: Backend): Promise<void> {
    await b.dispose()
    open.splice(open.indexOf(b), 1)
  }

  /** A project of the 36 frames with one label of each class moved to the next class, reviewed once. */
  async function reviewedProject(name: string): Promise<{ project: string; report: ReviewReport }> {
    const project = join(tmp.dir, `${name}.tsproj`)
    const b = backendOn(project)
    await b.handlers['library:import']({ folder: images, labels: 'folders' })
    await b.handlers['library:split']({ val: 0.3, test: 0, groupBy: 'none', seed: 1 })
    const classes = await b.handlers['classes:list']({})
    const all = b.services.projects.require().repo.trainingImages()
    for (const [k, c] of classes.entries()) {
      const img = all.filter((i) => i.classId === c.id)[5]
      await b.handlers['library:setLabel']({
        imageIds: [img.id],
        classId: classes[(k + 1) % classes.length].id
      })
    }
    const report = await b.handlers['review:start']({ folds: 2, epochs: 4, duplicateThreshold: 0.9 })
    await close(b)
    return { project, report }
  }

  describe('across a restart', () => {
    let project: string
    let report: ReviewReport
    beforeAll(async () => {
      ;({ project, report } = await reviewedProject('restart'))
    }, 300_000)

    it('writes the report as built to <project>.review/last.json, with its format version', () => {
      expect(report.restored).toBeUndefined()
      const file = lastReviewFile(project)
      expect(file).toBe(`${project}.review/last.json`)
      const saved = JSON.parse(readFileSync(file, 'utf8'))
      expect(saved.version).toBe(REVIEW_FILE_VERSION)
      expect(saved.report.reviewId).toBe(report.reviewId)
      expect(saved.report.labelIssues.map((i: { imageId: number }) => i.imageId)).toEqual(issueIds(report))
      expect(saved.report.restored).toBeUndefined()
    })

    it('shows the same report in a new backend on the same project, marked restored', async () => {
      // The review must have found something to restore, or the comparisons below prove little.
      expect(report.labelIssues.length).toBeGreaterThanOrEqual(2)
      expect(report.nearDuplicates.length).toBeGreaterThan(0)
      expect(report.map?.length).toBe(36)
      const b = backendOn(project)
      const restored = await b.handlers['review:result']({})
      expect(restored).not.toBeNull()
      expect(restored!.restored).toBe(true)
      expect(restored!.reviewId).toBe(report.reviewId)
      expect(restored!.createdAt).toBe(report.createdAt)
      expect(issueIds(restored)).toEqual(issueIds(report))
      expect(restored!.nearDuplicates).toEqual(report.nearDuplicates)
      expect(restored!.crossSplitPairs).toBe(report.crossSplitPairs)
      expect(restored!.outliers).toEqual(report.outliers)
      expect(restored!.map).toEqual(report.map)
      expect(restored!.health).toEqual(report.health)
      expect(restored!.mapMethod).toBe(report.mapMethod)
      // A new review in that session is this session's, not restored, and gets a new id.
      const again = await b.handlers['review:start']({ folds: 2, epochs: 4, duplicateThreshold: 0.9 })
      expect(again.restored).toBeUndefined()
      expect(again.reviewId).toBeGreaterThan(report.reviewId)
      expect((await b.handlers['review:result']({}))!.restored).toBeUndefined()
      await close(b)
    }, 300_000)

    it('applies decisions made after the restart to the restored report, and again after the next one', async () => {
      // The report on disk is now the second review's; its issues are what the decisions are made against.
      let b = backendOn(project)
      const before = (await b.handlers['review:result']({}))!
      expect(before.restored).toBe(true)
      const [first, second] = before.labelIssues
      expect(second).toBeDefined()
      await b.handlers['review:decide']({ imageId: first.imageId, decision: 'keep' })
      expect(issueIds(await b.handlers['review:result']({}))).toEqual(
        issueIds(before).filter((id) => id !== first.imageId)
      )
      await b.handlers['review:decide']({
        imageId: second.imageId,
        decision: 'accept',
        classId: second.suggestedClassId
      })
      const decided = issueIds(before).filter((id) => id !== first.imageId && id !== second.imageId)
      expect(issueIds(await b.handlers['review:result']({}))).toEqual(decided)
      await close(b)

      // The file keeps the report as built; the decisions are in the project and applied when it is read.
      const saved = JSON.parse(readFileSync(lastReviewFile(project), 'utf8'))
      expect(saved.report.labelIssues.map((i: { imageId: number }) => i.imageId)).toEqual(issueIds(before))
      b = backendOn(project)
      const reopened = await b.handlers['review:result']({})
      expect(reopened!.restored).toBe(true)
      expect(issueIds(reopened)).toEqual(decided)
      await close(b)
    }, 300_000)
  })

  it('leaves the images removed from the library out of the restored report', async () => {
    const { project, report } = await reviewedProject('removed')
    // One image with a label issue and one from a near-duplicate pair (both also on the map).
    const issue = report.labelIssues[0].imageId
    const pair = report.nearDuplicates.find((p) => p.a.imageId !== issue && p.b.imageId !== issue)!
    const removed = [issue, pair.a.imageId]
    const b = backendOn(project)
    // The studio has no delete yet; the rows go as a future delete (or another tool on the file) would.
    const { db } = b.services.projects.require()
    for (const id of removed) db.prepare('DELETE FROM images WHERE id = ?').run(id)
    const restored = (await b.handlers['review:result']({}))!
    expect(restored.restored).toBe(true)
    const left = imageIds(restored)
    for (const id of removed) expect(left.has(id)).toBe(false)
    // Everything else is still there.
    expect(issueIds(restored)).toEqual(issueIds(report).filter((id) => !removed.includes(id)))
    expect(restored.map!.map((p) => p.imageId)).toEqual(
      report.map!.map((p) => p.imageId).filter((id) => !removed.includes(id))
    )
    const pairsLeft = report.nearDuplicates.filter(
      (p) => !removed.includes(p.a.imageId) && !removed.includes(p.b.imageId)
    )
    expect(restored.nearDuplicates).toEqual(pairsLeft)
    const leaksGone =
      report.nearDuplicates.filter((p) => p.crossSplit).length - pairsLeft.filter((p) => p.crossSplit).length
    expect(restored.crossSplitPairs).toBe(report.crossSplitPairs - leaksGone)
    await close(b)
  }, 300_000)

  describe('a review file that cannot be used', () => {
    let project: string
    let good: string
    beforeAll(async () => {
      ;({ project } = await reviewedProject('damaged'))
      good = readFileSync(lastReviewFile(project), 'utf8')
    }, 300_000)

    /** A fresh service on a fresh backend (nothing in memory), its warnings collected. */
    async function readBack(): Promise<{ report: ReviewReport | null; warnings: string[] }> {
      const b = backendOn(project)
      const warnings: string[] = []
      const service = new ReviewService(b.services.projects, b.services.library, {
        runner: inProcessRunner(),
        warn: (m) => warnings.push(m)
      })
      const report = await service.result()
      await service.dispose()
      await close(b)
      return { report, warnings }
    }

    it('reads the good file back (the cases below differ from it only in the damage)', async () => {
      const r = await readBack()
      expect(r.report?.restored).toBe(true)
      expect(r.warnings).toEqual([])
    })

    it('gives no report, and a warning, for a cut-off file', async () => {
      writeFileSync(lastReviewFile(project), good.slice(0, good.length / 2))
      const r = await readBack()
      expect(r.report).toBeNull()
      expect(r.warnings).toHaveLength(1)
      expect(r.warnings[0]).toMatch(/not valid JSON/)
    })

    it('gives no report for another format version, or lists that are not lists', async () => {
      const parsed = JSON.parse(good)
      writeFileSync(lastReviewFile(project), JSON.stringify({ ...parsed, version: REVIEW_FILE_VERSION + 1 }))
      let r = await readBack()
      expect(r.report).toBeNull()
      expect(r.warnings[0]).toMatch(/version/)

      writeFileSync(
        lastReviewFile(project),
        JSON.stringify({ ...parsed, report: { ...parsed.report, labelIssues: 'many' } })
      )
      r = await readBack()
      expect(r.report).toBeNull()
      expect(r.warnings[0]).toMatch(/labelIssues/)

      writeFileSync(
        lastReviewFile(project),
        JSON.stringify({ ...parsed, report: { ...parsed.report, nearDuplicates: [{ a: 1, b: 2 }] } })
      )
      r = await readBack()
      expect(r.report).toBeNull()
      expect(r.warnings[0]).toMatch(/nearDuplicates/)
    })

    it('refuses a file above the limit without reading it', async () => {
      // Sparse: the size is there, the bytes are not.
      writeFileSync(lastReviewFile(project), good)
      truncateSync(lastReviewFile(project), MAX_REVIEW_FILE_BYTES + 1)
      const r = await readBack()
      expect(r.report).toBeNull()
      expect(r.warnings).toHaveLength(1)
      expect(r.warnings[0]).toMatch(/more than the \d+ bytes/)
    })

    it('gives no report and no warning when there is no file', async () => {
      rmSync(lastReviewFile(project))
      expect(existsSync(lastReviewFile(project))).toBe(false)
      const r = await readBack()
      expect(r.report).toBeNull()
      expect(r.warnings).toEqual([])
    })
  })
})
