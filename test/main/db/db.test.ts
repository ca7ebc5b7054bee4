// The database module (versioned migrations, refusal of newer files) and the pure label-source parsers.
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createRepository, type NewImage } from '../../../src/main/db/libraryRepo'
import {
  APPLICATION_ID,
  migrate,
  openDatabase,
  SCHEMA_VERSION,
  schemaVersion,
  transaction
} from '../../../src/main/db/database'
import {
  compareClassKeys,
  folderLabelOf,
  groupKeyOf,
  parseGtsrbCsv,
  parseNamesCsv
} from '../../../src/main/library/labelSources'
import { scaleRoi } from '../../../src/main/image/roi'
import { tempDir } from '../../helpers'

describe('openDatabase', () => {
  let tmp: ReturnType<typeof tempDir>
  beforeEach(() => (tmp = tempDir('ts-db-')))
  afterEach(() => tmp.remove())

  it('creates the schema at the current version in WAL mode, and reopening runs nothing again', () => {
    const file = join(tmp.dir, 'a.tsproj')
    const db = openDatabase(file)
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION)
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID)
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .pluck()
      .all()
    expect(tables).toEqual(expect.arrayContaining(['classes', 'images', 'imports', 'predictions', 'runs']))
    db.prepare("INSERT INTO classes (key, name, position) VALUES ('a', 'A', 0)").run()
    db.close()
    const again = openDatabase(file, { mustExist: true })
    expect(again.prepare('SELECT COUNT(*) AS n FROM classes').get()).toEqual({ n: 1 })
    again.close()
  })

  it('refuses a file written by a newer version, and a missing file with mustExist', () => {
    const file = join(tmp.dir, 'new.tsproj')
    openDatabase(file).close()
    const raw = new Database(file)
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`)
    raw.close()
    expect(() => openDatabase(file)).toThrow(/newer than this app supports/)
    expect(() => openDatabase(join(tmp.dir, 'none.tsproj'), { mustExist: true })).toThrow()
  })

  it('rolls a failed transaction back completely', () => {
    const db = openDatabase(join(tmp.dir, 't.tsproj'))
    expect(() =>
      transaction(db, () => {
        db.prepare("INSERT INTO classes (key, name, position) VALUES ('a', 'A', 0)").run()
        db.prepare("INSERT INTO classes (key, name, position) VALUES ('a', 'again', 1)").run() // unique key
      })
    ).toThrow(/UNIQUE/)
    expect(db.prepare('SELECT COUNT(*) AS n FROM classes').get()).toEqual({ n: 0 })
    db.close()
  })
})

describe('file-name search', () => {
  let tmp: ReturnType<typeof tempDir>
  beforeEach(() => (tmp = tempDir('ts-search-')))
  afterEach(() => tmp.remove())
  const image = (i: number, fileName: string): NewImage => ({
    path: `/lib/${i}/${fileName}`,
    fileName,
    importRoot: '/lib',
    hash: `h${i}`,
    format: 'ppm',
    sizeBytes: 1,
    width: 1,
    height: 1,
    classId: null,
    groupKey: null,
    roi: null,
    cropToRoi: false,
    importedAt: '2026-01-01T00:00:00.000Z',
    importId: 1
  })

  it('finds rare and common substrings, case-insensitively, through the index or a scan', () => {
    const db = openDatabase(join(tmp.dir, 's.tsproj'))
    const repo = createRepository(db)
    repo.startImport('/lib', 'none', 'now')
    // 2,500 names share "Frame" (a scan answers that); only a few hold "Stop" (the trigram index does).
    transaction(db, () => {
      for (let i = 0; i < 2500; i++)
        repo.insertImage(image(i, `Frame_${i}${i % 1000 === 7 ? '_STOP' : ''}.ppm`))
    })
    const total = (search: string): number => repo.query({ search }, undefined, undefined, 0, 10).total
    expect(total('stop')).toBe(3)
    expect(total('frame')).toBe(2500)
    expect(total('ME_1')).toBe(1 + 10 + 100 + 1000)
    expect(total('_7_st')).toBe(1)
    expect(total('"')).toBe(0)
    expect(total('a"b')).toBe(0)
    expect(total('%')).toBe(0)
    expect(
      repo.query({ search: 'stop' }, { key: 'id' }, undefined, 1, 10).items.map((i) => i.fileName)
    ).toEqual(['Frame_1007_STOP.ppm', 'Frame_2007_STOP.ppm'])
    // Renaming a file (a moved import) updates the index.
    const id = repo.imageByHash('h5')!.id
    repo.moveImage(id, '/lib/x/renamed_stop.ppm', 'renamed_stop.ppm', '/lib', null)
    expect(total('stop')).toBe(4)
    expect(total('Frame_5.')).toBe(0)
    db.close()
  })

  it('an older project file gets the search index filled by its migration', () => {
    const file = join(tmp.dir, 'old.tsproj')
    const raw = new Database(file)
    migrate(raw, 1)
    raw
      .prepare("INSERT INTO imports (id, folder, label_source, started_at) VALUES (1, '/lib', 'none', 'now')")
      .run()
    createRepository(raw).insertImage(image(1, 'old_Stop_sign.ppm'))
    raw.close()
    const db = openDatabase(file)
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION)
    expect(createRepository(db).query({ search: 'stop_s' }, undefined, undefined, 0, 10).total).toBe(1)
    db.close()
  })
})

describe('label sources', () => {
  it('sorts numeric keys numerically, then names', () => {
    expect(['10', 'b', '2', '0', 'a', '1'].sort(compareClassKeys)).toEqual(['0', '1', '2', '10', 'a', 'b'])
  })

  it('takes the GTSRB track from TTTTT_NNNNN names only', () => {
    expect(groupKeyOf('00012_00029.ppm')).toBe('00012')
    expect(groupKeyOf('cat.png')).toBeNull()
    expect(groupKeyOf('a_b.png')).toBeNull()
  })

  it('labels a file by its parent folder, none at the root', () => {
    expect(folderLabelOf('/data/set/14/x.ppm', '/data/set')).toBe('14')
    expect(folderLabelOf('/data/set/a/b/x.ppm', '/data/set')).toBe('b')
    expect(folderLabelOf('/data/set/x.ppm', '/data/set/')).toBeNull()
  })

  it('parses a names CSV with header, quotes and commas in names', () => {
    const names = parseNamesCsv(
      'ClassId,SignName\n0,Speed limit (20km/h)\n14,Stop\n40,"Roundabout, mandatory"\n'
    )
    expect(names.get('14')).toBe('Stop')
    expect(names.get('40')).toBe('Roundabout, mandatory')
    expect(names.size).toBe(3)
    expect(() => parseNamesCsv('')).toThrow(/empty/)
    expect(() => parseNamesCsv('ClassId,SignName\n7\n')).toThrow(/line 2/)
  })

  it('parses GTSRB annotations (Filename or Path) and scales the ROI to the stored size', () => {
    const csv =
      'Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n00000_00000.ppm;29;30;5;6;24;25;0\n'
    const ann = parseGtsrbCsv(csv, '/d/00000')
    const a = ann.get('/d/00000/00000_00000.ppm')
    expect(a).toEqual({ width: 29, height: 30, roi: { x1: 5, y1: 6, x2: 24, y2: 25 }, classId: '0' })
    expect(scaleRoi(a!, 32, 32)).toEqual({ x1: 5.517, y1: 6.4, x2: 26.483, y2: 26.667 })
    const byPath = parseGtsrbCsv(csv.replace('Filename', 'Path').replace('00000_', '0/00000_'), '/root')
    expect([...byPath.keys()]).toEqual(['/root/0/00000_00000.ppm'])
    expect(() => parseGtsrbCsv('Filename;Width\nx;1\n', '/')).toThrow(/missing column\(s\) Height/)
    expect(() => parseGtsrbCsv(csv.replace(';29;', ';wide;'), '/')).toThrow(/line 2: Width is not a number/)
  })
})
