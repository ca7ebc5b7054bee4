// Labelling, undo/redo, the class manager, browsing queries and splits, on a small generated library in a
// real SQLite file.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createBackend, type Backend } from '../../../src/main/backend'
import { createRunsRepo } from '../../../src/main/db/runsRepo'
import { defaultTrainConfig } from '../../../src/main/ml/train/config'
import type { EvaluationResult } from '../../../src/shared/training'
import type { ClassInfo } from '../../../src/shared/types'
import { tempDir } from '../../helpers'

/** Writes `perClass` distinct 2x2 PPMs into folders `classes`, named like GTSRB (`TTTTT_NNNNN.ppm`). */
function writeLibrary(root: string, classes: string[], perClass: number, tracksPerClass = 5): void {
  let seq = 0
  for (const cls of classes) {
    mkdirSync(join(root, cls), { recursive: true })
    for (let i = 0; i < perClass; i++) {
      seq++
      const px = Buffer.alloc(12)
      px.writeUInt32BE(seq, 0) // unique content, so unique hashes
      const track = String(classes.indexOf(cls) * 100 + Math.floor(i / (perClass / tracksPerClass))).padStart(
        5,
        '0'
      )
      const name = `${track}_${String(i).padStart(5, '0')}.ppm`
      writeFileSync(join(root, cls, name), Buffer.concat([Buffer.from('P6\n2 2\n255\n'), px]))
    }
  }
}

describe('library service', () => {
  let tmp: ReturnType<typeof tempDir>
  let b: Backend
  let classes: ClassInfo[]
  const byKey = (key: string): ClassInfo => classes.find((c) => c.key === key) as ClassInfo
  beforeEach(async () => {
    tmp = tempDir('ts-library-')
    writeLibrary(join(tmp.dir, 'img'), ['10', '2', 'cat'], 20)
    mkdirSync(join(tmp.dir, 'img'), { recursive: true })
    writeFileSync(
      join(tmp.dir, 'img', 'loose.ppm'),
      Buffer.concat([Buffer.from('P6\n2 2\n255\n'), Buffer.alloc(12, 9)])
    )
    b = createBackend({ dataDir: join(tmp.dir, 'data'), projectPath: join(tmp.dir, 'p.tsproj') })
    const s = await b.handlers['library:import']({ folder: join(tmp.dir, 'img'), labels: 'folders' })
    expect(s.imported).toBe(61)
    classes = s.classes
  })
  afterEach(async () => {
    await b.dispose()
    tmp.remove()
  })

  it('orders classes numerically then by name, and files at the root stay unlabelled', async () => {
    expect(classes.map((c) => [c.key, c.position, c.count])).toEqual([
      ['2', 0, 20],
      ['10', 1, 20],
      ['cat', 2, 20]
    ])
    expect(await b.handlers['library:stats']({})).toMatchObject({ images: 61, labelled: 60, unlabelled: 1 })
  })

  it('sets labels for many ids, undoes and redoes them with the previous labels restored', async () => {
    const changes: string[] = []
    b.on('library-changed', (e) => changes.push(e.reason))
    const two = (await b.handlers['library:queryIds']({ filter: { classIds: [byKey('2').id] } })).ids
    const cat = (await b.handlers['library:queryIds']({ filter: { classIds: [byKey('cat').id] } })).ids
    const loose = (await b.handlers['library:queryIds']({ filter: { unlabelled: true } })).ids
    const ids = [...two.slice(0, 3), ...cat.slice(0, 2), ...loose]
    const r1 = await b.handlers['library:setLabel']({ imageIds: ids, classId: byKey('10').id })
    expect(r1).toEqual({ changed: 6, canUndo: true, canRedo: false })
    expect(changes).toEqual(['labels'])
    // Setting the label again changes nothing and records nothing.
    expect((await b.handlers['library:setLabel']({ imageIds: ids, classId: byKey('10').id })).changed).toBe(0)
    const r2 = await b.handlers['library:setLabel']({ imageIds: [two[5]], classId: null })
    expect(r2.changed).toBe(1)
    const counts = async (): Promise<number[]> => (await b.handlers['classes:list']({})).map((c) => c.count)
    expect(await counts()).toEqual([16, 26, 18])

    expect(await b.handlers['library:undo']({})).toEqual({ changed: 1, canUndo: true, canRedo: true })
    expect(await counts()).toEqual([17, 26, 18])
    expect(await b.handlers['library:undo']({})).toEqual({ changed: 6, canUndo: false, canRedo: true })
    expect(await counts()).toEqual([20, 20, 20])
    expect((await b.handlers['library:image']({ id: loose[0] })).classId).toBeNull()
    expect((await b.handlers['library:image']({ id: cat[0] })).classId).toBe(byKey('cat').id)
    expect((await b.handlers['library:undo']({})).changed).toBe(0)

    expect(await b.handlers['library:redo']({})).toEqual({ changed: 6, canUndo: true, canRedo: true })
    expect(await counts()).toEqual([17, 26, 18])
    // A new change after undo drops the redo branch.
    await b.handlers['library:setLabel']({ imageIds: [two[0]], classId: byKey('2').id })
    expect((await b.handlers['library:redo']({})).changed).toBe(0)

    await expect(b.handlers['library:setLabel']({ imageIds: [1, 99999], classId: null })).rejects.toThrow(
      /image\(s\) not found: 99999/
    )
    await expect(b.handlers['library:setLabel']({ imageIds: [1], classId: 12345 })).rejects.toThrow(
      /class 12345 not found/
    )
    // The failed calls changed nothing.
    expect(await counts()).toEqual([18, 25, 18])
  })

  it('adds, renames, merges and deletes classes with reassignment, keeping positions contiguous', async () => {
    const dog = await b.handlers['classes:add']({ name: 'Dog' })
    expect(dog).toMatchObject({ key: 'Dog', name: 'Dog', position: 3, count: 0 })
    await expect(b.handlers['classes:add']({ name: 'Dog' })).rejects.toThrow(/already exists/)
    expect(await b.handlers['classes:rename']({ id: byKey('2').id, name: 'Two' })).toMatchObject({
      key: '2',
      name: 'Two'
    })

    const merged = await b.handlers['classes:merge']({ sourceId: byKey('10').id, targetId: byKey('2').id })
    expect(merged).toMatchObject({ id: byKey('2').id, count: 40 })
    let list = await b.handlers['classes:list']({})
    expect(list.map((c) => [c.key, c.position])).toEqual([
      ['2', 0],
      ['cat', 1],
      ['Dog', 2]
    ])
    // Undo history is cleared by a merge (its class ids may be gone).
    expect((await b.handlers['library:undo']({})).changed).toBe(0)

    expect(await b.handlers['classes:delete']({ id: byKey('cat').id, reassignTo: dog.id })).toEqual({
      reassigned: 20
    })
    expect(await b.handlers['classes:delete']({ id: byKey('2').id, reassignTo: null })).toEqual({
      reassigned: 40
    })
    list = await b.handlers['classes:list']({})
    expect(list).toEqual([expect.objectContaining({ key: 'Dog', position: 0, count: 20 })])
    expect(await b.handlers['library:stats']({})).toMatchObject({ labelled: 20, unlabelled: 41 })
    await expect(b.handlers['classes:merge']({ sourceId: dog.id, targetId: dog.id })).rejects.toThrow(
      /itself/
    )
    await expect(b.handlers['classes:delete']({ id: 999, reassignTo: null })).rejects.toThrow(
      /class 999 not found/
    )
  })

  it('queries pages with filters and sorts, and queryIds agrees with the pages', async () => {
    const page = await b.handlers['library:query']({ filter: {}, offset: 0, limit: 10 })
    expect(page.total).toBe(61)
    expect(page.items.map((i) => i.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    const desc = await b.handlers['library:query']({
      filter: {},
      sort: { key: 'id', descending: true },
      offset: 0,
      limit: 1
    })
    expect(desc.items[0].id).toBe(61)
    const byName = await b.handlers['library:query']({
      filter: {},
      sort: { key: 'fileName' },
      offset: 0,
      limit: 61
    })
    const names = byName.items.map((i) => i.fileName)
    expect(names).toEqual([...names].sort())
    const byClass = await b.handlers['library:query']({
      filter: {},
      sort: { key: 'class' },
      offset: 0,
      limit: 61
    })
    expect(byClass.items[0].classId).toBeNull()
    const search = await b.handlers['library:query']({ filter: { search: '_00003' }, offset: 0, limit: 100 })
    expect(search.total).toBe(3)
    // LIKE wildcards in the search text are literal.
    expect((await b.handlers['library:query']({ filter: { search: '%' }, offset: 0, limit: 5 })).total).toBe(
      0
    )
    const both = await b.handlers['library:query']({
      filter: { classIds: [byKey('2').id, byKey('cat').id], search: '.ppm' },
      offset: 5,
      limit: 10
    })
    expect(both.total).toBe(40)
    expect(both.offset).toBe(5)
    const ids = (
      await b.handlers['library:queryIds']({ filter: { classIds: [byKey('2').id, byKey('cat').id] } })
    ).ids
    expect(both.items.map((i) => i.id)).toEqual(ids.slice(5, 15))
    expect((await b.handlers['library:query']({ filter: { classIds: [] }, offset: 0, limit: 5 })).total).toBe(
      0
    )
    expect(
      (await b.handlers['library:query']({ filter: { split: 'none' }, offset: 0, limit: 5 })).total
    ).toBe(61)
  })

  it('attaches predictions of a run, sorts by confidence and filters disagreements', async () => {
    // Predictions are written by the runs repository when a run is evaluated (TrainingService.evaluate).
    const runs = createRunsRepo(b.services.projects.require().db)
    const runId = runs.create(defaultTrainConfig('feature-extraction'), new Date().toISOString())
    const ids = (await b.handlers['library:queryIds']({ filter: { classIds: [byKey('2').id] } })).ids
    const evaluation: EvaluationResult = {
      images: 3,
      accuracy: 2 / 3,
      top5Accuracy: 1,
      classIds: [byKey('2').id, byKey('cat').id],
      confusion: [
        [2, 1],
        [0, 0]
      ],
      perClass: [],
      misclassified: [],
      failed: []
    }
    const metrics = { epochsDone: 1, valAccuracy: null, testAccuracy: 2 / 3, seconds: 1 }
    runs.saveEvaluation(
      runId,
      evaluation,
      [
        { imageId: ids[0], classId: byKey('2').id, confidence: 0.9 },
        { imageId: ids[1], classId: byKey('cat').id, confidence: 0.6 },
        { imageId: ids[2], classId: byKey('2').id, confidence: 0.3 }
      ],
      metrics
    )
    const page = await b.handlers['library:query']({
      filter: { classIds: [byKey('2').id] },
      runId,
      sort: { key: 'confidence', descending: true },
      offset: 0,
      limit: 3
    })
    expect(page.items.map((i) => [i.id, i.predictedClassId, i.confidence])).toEqual([
      [ids[0], byKey('2').id, 0.9],
      [ids[1], byKey('cat').id, 0.6],
      [ids[2], byKey('2').id, 0.3]
    ])
    const wrong = await b.handlers['library:query']({
      filter: { disagreesWithRun: runId },
      offset: 0,
      limit: 10
    })
    expect(wrong.items.map((i) => i.id)).toEqual([ids[1]])
    expect(runs.get(runId)).toMatchObject({ id: runId, strategy: 'feature-extraction', testAccuracy: 2 / 3 })
  })

  it('splits labelled images by class and track, deterministically; unlabelled get none', async () => {
    const s1 = await b.handlers['library:split']({ val: 0.2, test: 0.2, groupBy: 'track', seed: 9 })
    expect(s1.train + s1.val + s1.test).toBe(60)
    expect(s1.perClass).toHaveLength(3)
    for (const c of s1.perClass) expect(c).toMatchObject({ train: 12, val: 4, test: 4 }) // 5 tracks of 4
    const stats = await b.handlers['library:stats']({})
    expect(stats.splits).toEqual({ train: 36, val: 12, test: 12, none: 1 })
    const unlabelled = await b.handlers['library:query']({
      filter: { unlabelled: true },
      offset: 0,
      limit: 5
    })
    expect(unlabelled.items[0].split).toBeNull()
    // Tracks stay whole.
    const rows = b.services.library.listImages()
    const detail = await Promise.all(rows.map((r) => b.handlers['library:image']({ id: r.id })))
    const splitOfTrack = new Map<string, string>()
    for (const d of detail) {
      const prev = splitOfTrack.get(d.groupKey as string)
      if (prev) expect(d.split).toBe(prev)
      else splitOfTrack.set(d.groupKey as string, d.split as string)
    }
    const before = rows.map((r) => r.split)
    await b.handlers['library:split']({ val: 0.2, test: 0.2, groupBy: 'track', seed: 9 })
    expect(b.services.library.listImages().map((r) => r.split)).toEqual(before)
    expect(b.services.library.listImages({ split: 'val' })).toHaveLength(12)
  })
})

describe('library split by track on GTSRB numbering', () => {
  // GTSRB numbers tracks per class folder: `22/00000_*` and `24/00000_*` are different signs. The split
  // once grouped by the bare number, so same-numbered tracks of all classes moved together under one owner
  // class and some classes got no validation images at all (seen in bench/ACCURACY.md's target runs).
  let tmp: ReturnType<typeof tempDir>
  let b: Backend
  afterEach(async () => {
    await b.dispose()
    tmp.remove()
  })

  it('keeps every class within one track of the ratios when track numbers repeat across folders', async () => {
    tmp = tempDir('ts-library-tracks-')
    // Class folder -> [tracks, images per track]; every folder numbers its tracks from 00000.
    const layout: Record<string, [number, number]> = { '1': [10, 5], '2': [5, 1], '3': [5, 4], '4': [20, 1] }
    let seq = 0
    for (const [cls, [tracks, per]] of Object.entries(layout)) {
      mkdirSync(join(tmp.dir, 'img', cls), { recursive: true })
      for (let t = 0; t < tracks; t++)
        for (let i = 0; i < per; i++) {
          const px = Buffer.alloc(12)
          px.writeUInt32BE(++seq, 0)
          const name = `${String(t).padStart(5, '0')}_${String(i).padStart(5, '0')}.ppm`
          writeFileSync(join(tmp.dir, 'img', cls, name), Buffer.concat([Buffer.from('P6\n2 2\n255\n'), px]))
        }
    }
    b = createBackend({ dataDir: join(tmp.dir, 'data'), projectPath: join(tmp.dir, 'p.tsproj') })
    const imported = await b.handlers['library:import']({ folder: join(tmp.dir, 'img'), labels: 'folders' })
    expect(imported.imported).toBe(50 + 5 + 20 + 20)
    const keyOf = new Map(imported.classes.map((c) => [c.id, c.key]))
    for (const seed of [1, 2, 3, 42]) {
      const s = await b.handlers['library:split']({ val: 0.2, test: 0.2, groupBy: 'track', seed })
      expect(s.perClass).toHaveLength(4)
      for (const c of s.perClass) {
        const [tracks, per] = layout[keyOf.get(c.classId) as string]
        // A fifth of the class each for val and test, give or take one track.
        const share = 0.2 * tracks * per
        expect(
          Math.abs(c.val - share),
          `class ${keyOf.get(c.classId)} val, seed ${seed}`
        ).toBeLessThanOrEqual(per)
        expect(
          Math.abs(c.test - share),
          `class ${keyOf.get(c.classId)} test, seed ${seed}`
        ).toBeLessThanOrEqual(per)
        expect(c.val).toBeGreaterThan(0)
        expect(c.test).toBeGreaterThan(0)
      }
      // A physical track (folder + number) still lands whole in one split.
      const splitOf = new Map<string, string>()
      for (const r of b.services.library.listImages()) {
        const track = `${r.classId}/${r.path.split(/[\\/]/).at(-1)?.slice(0, 5)}`
        const prev = splitOf.get(track)
        if (prev) expect(r.split).toBe(prev)
        else splitOf.set(track, r.split as string)
      }
    }
  })
})
