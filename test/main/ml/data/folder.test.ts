import { createHash } from 'node:crypto'
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SHARED_DATA, sharedDataAvailable, tempDir } from '../../../helpers'
import { examplesFromFolder } from '../../../../src/main/ml/data/folder'
import { parseGtsrbCsv, parseNamesCsv } from '../../../../src/main/library/labelSources'

describe.skipIf(!sharedDataAvailable())('examplesFromFolder', () => {
  let tmp: { dir: string; remove: () => void }
  const copied = new Map<string, string>() // copy -> original
  beforeAll(() => {
    tmp = tempDir()
    // 14 by key, "Turn right ahead" by name (class 33), 'mystery' unknown, a nested folder inside a class,
    // a README in each and a loose image.
    const layout: [string, number, number][] = [
      ['14', 14, 3],
      ['Turn right ahead', 33, 2],
      ['mystery', 5, 2]
    ]
    for (const [folder, cls, n] of layout) {
      mkdirSync(join(tmp.dir, folder, 'nested'), { recursive: true })
      const src = join(SHARED_DATA, 'gtsrb-test', String(cls))
      readdirSync(src)
        .sort()
        .slice(0, n)
        .forEach((f, i) => {
          const dst = join(tmp.dir, folder, i === 0 ? join('nested', f) : f)
          copyFileSync(join(src, f), dst)
          copied.set(dst, join(src, f))
        })
      writeFileSync(join(tmp.dir, folder, 'README.txt'), 'not an image')
    }
    copyFileSync(
      join(SHARED_DATA, 'gtsrb-test', '2', readdirSync(join(SHARED_DATA, 'gtsrb-test', '2'))[0]),
      join(tmp.dir, 'loose.ppm')
    )
  })
  afterAll(() => tmp.remove())

  it('maps folders by key or (via the names CSV) by name, hashes files, reports unknown folders', async () => {
    const names = parseNamesCsv(readFileSync(join(SHARED_DATA, 'signnames.csv'), 'utf8'))
    const classes = [
      { key: '1', index: 0 },
      { key: '14', index: 1 },
      { key: '33', index: 2 }
    ]
    const r = await examplesFromFolder(tmp.dir, { classes, names })
    expect(r.unknownFolders).toEqual(['mystery'])
    expect(r.looseFiles).toBe(1)
    expect(r.examples).toHaveLength(5)
    expect(r.examples.map((e) => e.label)).toEqual([1, 1, 1, 2, 2])
    for (const e of r.examples) {
      expect(e.path.startsWith(tmp.dir)).toBe(true)
      expect(e.imageId).toBeNull()
      expect(e.hash).toBe(
        createHash('sha1')
          .update(readFileSync(copied.get(e.path) as string))
          .digest('hex')
      )
    }
    expect(r.examples.some((e) => e.path.includes('nested'))).toBe(true)

    // Without the names, the named folder is unknown too.
    const plain = await examplesFromFolder(tmp.dir, { classes })
    expect(plain.unknownFolders).toEqual(['Turn right ahead', 'mystery'])
    expect(plain.examples.map((e) => e.label)).toEqual([1, 1, 1])
    // A name given on the class itself works the same, case-insensitively.
    const own = await examplesFromFolder(tmp.dir, {
      classes: [{ key: '33', index: 0, name: 'turn RIGHT ahead' }]
    })
    expect(own.examples.map((e) => e.label)).toEqual([0, 0])
  })

  it('GTSRB annotations give listed images their region, scaled to the stored file', async () => {
    const classes = [{ key: '14', index: 0 }]
    const plain = await examplesFromFolder(tmp.dir, { classes })
    expect(plain.withRoi).toBe(0)
    expect(plain.examples.every((e) => e.roi === null)).toBe(true)
    // The first and third image of class 14 are annotated; the stored files are 32x32 and the CSV
    // describes 64x40 originals, so x halves and y scales by 0.8. The second image is not listed.
    const [a, b, c] = plain.examples.map((e) => e.path)
    const csv = [
      'Path;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId',
      `${a.slice(tmp.dir.length + 1)};64;40;10;5;50;35;14`,
      `${c.slice(tmp.dir.length + 1)};64;40;0;0;64;40;14`
    ].join('\n')
    const annotations = parseGtsrbCsv(csv, tmp.dir)
    const r = await examplesFromFolder(tmp.dir, { classes, annotations })
    expect(r.withRoi).toBe(2)
    const roi = new Map(r.examples.map((e) => [e.path, e.roi]))
    expect(roi.get(a)).toEqual({ x1: 5, y1: 4, x2: 25, y2: 28 })
    expect(roi.get(b)).toBeNull()
    expect(roi.get(c)).toEqual({ x1: 0, y1: 0, x2: 32, y2: 32 })
  })

  it('a missing folder is a clear error', async () => {
    await expect(examplesFromFolder(join(tmp.dir, 'nope'), { classes: [] })).rejects.toThrow(
      /cannot read data folder/
    )
  })
})
