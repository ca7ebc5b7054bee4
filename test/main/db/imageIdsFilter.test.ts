// The library's `imageIds` filter (a region selected on the review's map, issue 16) on a real SQLite file:
// exactly the listed images, ANDed with the other fields, a 50,000-id list in one query, and the contract's
// bound on its length.
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createRepository, type NewImage } from '../../../src/main/db/libraryRepo'
import { openDatabase, transaction } from '../../../src/main/db/database'
import { ImageFilterSchema, MAX_FILTER_IMAGES } from '../../../src/shared/contract/library'
import { tempDir } from '../../helpers'

const image = (i: number, classId: number | null): NewImage => ({
  path: `/lib/${i}.ppm`,
  fileName: `${i}.ppm`,
  importRoot: '/lib',
  hash: `h${i}`,
  format: 'ppm',
  sizeBytes: 1,
  width: 1,
  height: 1,
  classId,
  groupKey: null,
  roi: null,
  cropToRoi: false,
  importedAt: '2026-01-01T00:00:00.000Z',
  importId: 1
})

describe('the imageIds filter', () => {
  let tmp: ReturnType<typeof tempDir>
  beforeEach(() => (tmp = tempDir('ts-ids-')))
  afterEach(() => tmp.remove())

  it('matches exactly the listed images, with the other fields ANDed, at 50,000 ids', () => {
    const db = openDatabase(join(tmp.dir, 'ids.tsproj'))
    const repo = createRepository(db)
    repo.startImport('/lib', 'none', 'now')
    const a = repo.insertClass('a', 'A')
    const b = repo.insertClass('b', 'B')
    const ids: number[] = []
    transaction(db, () => {
      for (let i = 0; i < 60_000; i++)
        ids.push(repo.insertImage(image(i, i % 3 === 0 ? a : i % 3 === 1 ? b : null)))
    })
    const classOf = (id: number): number | null => [a, b, null][(id - ids[0]) % 3]

    // A small list: those rows, in the grid's order, whatever order they were given in.
    const few = [ids[10], ids[3], ids[59_999], ids[7]]
    const page = repo.query({ imageIds: few }, { key: 'id' }, undefined, 0, 100)
    expect(page.total).toBe(4)
    expect(page.items.map((i) => i.id)).toEqual([...few].sort((x, y) => x - y))
    // Combined with a class: only the listed images of that class.
    const withClass = repo.query({ imageIds: few, classIds: [b] }, { key: 'id' }, undefined, 0, 100)
    expect(withClass.items.map((i) => i.id)).toEqual(
      few.filter((id) => classOf(id) === b).sort((x, y) => x - y)
    )
    expect(withClass.total).toBe(2) // ids[10] and ids[7] are class b (index % 3 === 1)

    // 50,000 ids (the 5,001st to the 55,000th image) with the unlabelled filter, in one query.
    const many = ids.slice(5_000, 5_000 + MAX_FILTER_IMAGES)
    expect(many.length).toBe(50_000)
    const started = performance.now()
    const unl = repo.query({ imageIds: many, unlabelled: true }, { key: 'id' }, undefined, 0, 10)
    const ms = performance.now() - started
    const expected = many.filter((id) => classOf(id) === null)
    expect(unl.total).toBe(expected.length)
    expect(unl.items.map((i) => i.id)).toEqual(expected.slice(0, 10))
    expect(repo.queryIds({ imageIds: many, unlabelled: true }, { key: 'id' })).toEqual(expected)
    expect(ms).toBeLessThan(2_000)
    // Ids that are not in the library match nothing; an empty list matches nothing.
    expect(repo.query({ imageIds: [ids[59_999] + 1000] }, undefined, undefined, 0, 10).total).toBe(0)
    expect(repo.query({ imageIds: [] }, undefined, undefined, 0, 10).total).toBe(0)
    db.close()
  })

  it('the contract takes up to MAX_FILTER_IMAGES positive integer ids', () => {
    const ok = Array.from({ length: MAX_FILTER_IMAGES }, (_, i) => i + 1)
    expect(ImageFilterSchema.safeParse({ imageIds: ok, split: 'train' }).success).toBe(true)
    expect(ImageFilterSchema.safeParse({ imageIds: [...ok, MAX_FILTER_IMAGES + 1] }).success).toBe(false)
    expect(ImageFilterSchema.safeParse({ imageIds: [0] }).success).toBe(false)
    expect(ImageFilterSchema.safeParse({ imageIds: [1.5] }).success).toBe(false)
    expect(ImageFilterSchema.safeParse({ imageIds: ['1'] }).success).toBe(false)
  })
})
