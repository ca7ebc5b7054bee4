// Import against real SQLite files and the real GTSRB data: folder labels with names, idempotent re-import,
// moved files, broken files of every kind, GTSRB CSV labels with ROI scaling, cancel + resume, reopen.
import {
  cpSync,
  mkdirSync,
  readdirSync,
  renameSync,
  symlinkSync,
  writeFileSync,
  readFileSync,
  existsSync
} from 'node:fs'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createBackend, type Backend } from '../../../src/main/backend'
import type { ImportProgressEvent } from '../../../src/shared/types'
import { runImport } from '../../../src/main/library/importer'
import { SCHEMA_VERSION } from '../../../src/main/db/database'
import { SHARED_DATA, sharedDataAvailable, tempDir } from '../../helpers'

const TRAIN = join(SHARED_DATA, 'gtsrb-train')
const TEST = join(SHARED_DATA, 'gtsrb-test')
const NAMES = join(SHARED_DATA, 'signnames.csv')

describe.skipIf(!sharedDataAvailable())('library import (real GTSRB, real SQLite)', () => {
  let tmp: ReturnType<typeof tempDir>
  let backend: Backend
  const project = (): string => join(tmp.dir, 'signs.tsproj')
  beforeEach(() => {
    tmp = tempDir('ts-import-')
    backend = createBackend({ dataDir: join(tmp.dir, 'data'), projectPath: project() })
  })
  afterEach(async () => {
    await backend.dispose()
    tmp.remove()
  })

  it('imports gtsrb-train with folder labels and names, re-import adds nothing, reopen keeps labels', async () => {
    const events: ImportProgressEvent[] = []
    const changes: string[] = []
    backend.on('import-progress', (e) => events.push(e))
    backend.on('library-changed', (e) => changes.push(e.reason))
    const s = await backend.handlers['library:import']({ folder: TRAIN, labels: 'folders', namesCsv: NAMES })
    expect(s.status).toBe('done')
    expect(s.imported).toBe(6450)
    expect(s.failed).toEqual([])
    expect(s.classes).toHaveLength(43)
    expect(s.classes.every((c) => c.count === 150)).toBe(true)
    // Numeric folder names in numeric order, so shortcut positions match the GTSRB class ids.
    expect(s.classes.map((c) => c.key)).toEqual(Array.from({ length: 43 }, (_, i) => String(i)))
    expect(s.classes.map((c) => c.position)).toEqual(Array.from({ length: 43 }, (_, i) => i))
    const stop = s.classes.find((c) => c.key === '14')
    expect(stop?.name).toBe('Stop')
    expect(s.classes.find((c) => c.key === '0')?.name).toBe('Speed limit (20km/h)')
    expect(changes).toContain('import')

    // Progress: a scanning event first, a terminal done event last, few events in between (throttled).
    expect(events[0].phase).toBe('scanning')
    const last = events[events.length - 1]
    expect(last).toMatchObject({ phase: 'done', done: 6450, total: 6450, imported: 6450, failed: 0 })
    expect(last.rate).toBeGreaterThan(0)
    expect(events.length).toBeLessThan(Math.max(20, s.seconds * 12 + 6))

    const detail = await backend.handlers['library:image']({ id: 1 })
    expect(detail.format).toBe('ppm')
    expect(detail.hash).toMatch(/^[0-9a-f]{40}$/)
    expect(detail.groupKey).toBe(detail.fileName.split('_')[0])
    expect([detail.width, detail.height]).toEqual([32, 32])

    const again = await backend.handlers['library:import']({
      folder: TRAIN,
      labels: 'folders',
      namesCsv: NAMES
    })
    expect(again).toMatchObject({ imported: 0, skippedDuplicates: 6450, moved: 0 })
    expect((await backend.handlers['library:stats']({})).images).toBe(6450)

    // Relabel a few, then reopen the file in a fresh backend: labels and names are still there.
    const ids = (await backend.handlers['library:queryIds']({ filter: { classIds: [stop!.id] } })).ids
    expect(ids).toHaveLength(150)
    await backend.handlers['library:setLabel']({ imageIds: ids.slice(0, 5), classId: null })
    await backend.dispose()
    backend = createBackend({ dataDir: join(tmp.dir, 'data') })
    expect(await backend.handlers['project:current']({})).toBeNull()
    const info = await backend.handlers['project:open']({ path: project() })
    expect(info.schemaVersion).toBe(SCHEMA_VERSION)
    expect(info.thumbnailDir).toBe(`${project()}.thumbs`)
    const classes = await backend.handlers['classes:list']({})
    expect(classes.find((c) => c.key === '14')).toMatchObject({ name: 'Stop', count: 145 })
    expect(await backend.handlers['library:stats']({})).toMatchObject({
      images: 6450,
      labelled: 6445,
      unlabelled: 5
    })
    const recent = await backend.handlers['project:recent']({})
    expect(recent[0]).toMatchObject({ path: project(), name: 'signs', exists: true })
  })

  it('recognises a moved file, keeps its label, and counts it as moved', async () => {
    const src = join(tmp.dir, 'src')
    for (const cls of ['1', '2']) cpSync(join(TEST, cls), join(src, cls), { recursive: true })
    const first = await backend.handlers['library:import']({ folder: src, labels: 'folders' })
    expect(first.imported).toBe(60)
    const name = readdirSync(join(src, '1'))[0]
    mkdirSync(join(src, 'elsewhere'))
    renameSync(join(src, '1', name), join(src, 'elsewhere', name))
    const second = await backend.handlers['library:import']({ folder: src, labels: 'folders' })
    expect(second).toMatchObject({ imported: 0, moved: 1, skippedDuplicates: 59 })
    const hits = await backend.handlers['library:query']({ filter: { search: name }, offset: 0, limit: 10 })
    expect(hits.total).toBe(1)
    const detail = await backend.handlers['library:image']({ id: hits.items[0].id })
    expect(detail.path).toBe(join(src, 'elsewhere', name))
    expect(detail.classId).toBe(first.classes.find((c) => c.key === '1')?.id)
    expect((await backend.handlers['library:stats']({})).images).toBe(60)

    // A file rewritten in place keeps its row (and label) and takes the new content.
    const target = join(src, '2', readdirSync(join(src, '2'))[0])
    const before = (
      await backend.handlers['library:query']({
        filter: { search: target.split('/').pop() as string },
        offset: 0,
        limit: 5
      })
    ).items
    const bytes = readFileSync(target)
    bytes[bytes.length - 1] ^= 0xff
    writeFileSync(target, bytes)
    const third = await backend.handlers['library:import']({ folder: src, labels: 'folders' })
    expect(third).toMatchObject({ imported: 1, moved: 0, skippedDuplicates: 59 })
    const row = before.find((i) => i.classId === first.classes.find((c) => c.key === '2')?.id)!
    const after = await backend.handlers['library:image']({ id: row.id })
    expect(after.path).toBe(target)
    expect(after.hash).toBe(createHash('sha1').update(bytes).digest('hex'))
    expect((await backend.handlers['library:stats']({})).images).toBe(60)
  })

  it('lists every broken file with a reason and imports the rest', async () => {
    const src = join(tmp.dir, 'mixed')
    cpSync(join(TEST, '14'), join(src, '14'), { recursive: true })
    const bad = join(src, '14')
    const good = readFileSync(join(bad, readdirSync(bad)[0]))
    writeFileSync(join(bad, 'zero.ppm'), '')
    writeFileSync(join(bad, 'truncated.ppm'), good.subarray(0, 200))
    writeFileSync(join(bad, 'text.png'), 'this is not a PNG, only text with a .png name\n')
    writeFileSync(
      join(bad, 'huge.ppm'),
      Buffer.concat([Buffer.from('P6\n# hi\n50000 50000\n255\n'), Buffer.alloc(64)])
    )
    writeFileSync(join(bad, 'zerowidth.pgm'), 'P5\n0 10\n255\n')
    // Tests run as root, so chmod 000 would still be readable: an unreadable file is simulated with a
    // dangling symlink, and an unreadable folder with a directory symlink loop.
    symlinkSync(join(tmp.dir, 'no-such-file.ppm'), join(bad, 'dangling.ppm'))
    symlinkSync(src, join(src, 'loop'))
    writeFileSync(join(src, 'notes.txt'), 'ignored: not an image extension')
    const s = await backend.handlers['library:import']({ folder: src, labels: 'folders' })
    expect(s.status).toBe('done')
    expect(s.imported).toBe(30)
    const reasons = Object.fromEntries(s.failed.map((f) => [f.path.slice(src.length + 1), f.reason]))
    expect(reasons).toEqual({
      '14/zero.ppm': 'empty file (0 bytes)',
      '14/truncated.ppm': expect.stringMatching(/^truncated P6: expected 3072 bytes of pixels, found \d+$/),
      '14/text.png': expect.stringMatching(/not a supported image/),
      '14/huge.ppm': expect.stringMatching(/absurd dimensions 50000x50000/),
      '14/zerowidth.pgm': expect.stringMatching(/invalid dimensions 0x10/),
      '14/dangling.ppm': expect.stringMatching(/broken symbolic link/),
      loop: expect.stringMatching(/symbolic link loop/)
    })
    expect(s.classes).toHaveLength(1)
    expect(s.classes[0].count).toBe(30)
  })

  it('labels from a GTSRB annotation CSV, scaling the ROI to the stored 32x32 file, with cropToRoi', async () => {
    const s = await backend.handlers['library:import']({
      folder: TEST,
      labels: 'gtsrb-csv',
      annotationsCsv: join(SHARED_DATA, 'annotations', 'gtsrb-test.csv'),
      namesCsv: NAMES,
      cropToRoi: true
    })
    expect(s.imported).toBe(1290)
    expect(s.classes).toHaveLength(43)
    expect(s.classes.find((c) => c.key === '14')).toMatchObject({ name: 'Stop', count: 30 })
    // First CSV row: 0/00000_00000.ppm;29;30;5;6;24;25;0 (original 29x30, stored 32x32).
    const hit = await backend.handlers['library:query']({
      filter: { search: '00000_00000.ppm' },
      offset: 0,
      limit: 5
    })
    const inClass0 = hit.items.find((i) => i.classId === s.classes.find((c) => c.key === '0')?.id)
    expect(inClass0).toBeDefined()
    const detail = await backend.handlers['library:image']({ id: inClass0!.id })
    expect(detail.roi?.x1).toBeCloseTo((5 * 32) / 29, 2)
    expect(detail.roi?.y1).toBeCloseTo((6 * 32) / 30, 2)
    expect(detail.roi?.x2).toBeCloseTo((24 * 32) / 29, 2)
    expect(detail.roi?.y2).toBeCloseTo((25 * 32) / 30, 2)
    const lib = backend.services.library
    const img = lib.listImages().find((i) => i.id === detail.id)!
    expect(img.cropToRoi).toBe(true)
    const pixels = await lib.readPixels(img)
    // x 5.52..26.48 -> columns 5..26 (22 px); y 6.4..26.67 -> rows 6..26 (21 px).
    expect([pixels.width, pixels.height]).toEqual([22, 21])
    expect(pixels.data.length).toBe(22 * 21 * 3)
  })

  it('finds GTSRB CSVs inside the folder (Filename column relative to the CSV) when none is given', async () => {
    const src = join(tmp.dir, 'gt')
    cpSync(join(TEST, '3'), join(src, '00003'), { recursive: true })
    const files = readdirSync(join(src, '00003')).sort()
    const rows = files.slice(0, 10).map((f) => `${f};64;16;0;0;32;12;3`)
    writeFileSync(
      join(src, '00003', 'GT-00003.csv'),
      ['Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId', ...rows].join('\n')
    )
    const s = await backend.handlers['library:import']({ folder: src, labels: 'gtsrb-csv' })
    expect(s.imported).toBe(30)
    expect(s.classes).toEqual([expect.objectContaining({ key: '3', name: '3', count: 10 })])
    const labelled = backend.services.library.listImages()
    expect(labelled).toHaveLength(10)
    expect(labelled[0].roi).toEqual({ x1: 0, y1: 0, x2: 16, y2: 24 }) // x * 32/64, y * 32/16
    expect(labelled[0].cropToRoi).toBe(false)
    await expect(
      backend.handlers['library:import']({ folder: join(TEST, '1'), labels: 'gtsrb-csv' })
    ).rejects.toThrow(/no GTSRB annotation CSV found/)
  })

  it('a cancelled import keeps whole batches, and a second import completes the library', async () => {
    const { db, repo } = backend.services.projects.require()
    const controller = new AbortController()
    const importId = repo.startImport(TEST, 'folders', new Date().toISOString())
    const first = await runImport(
      db,
      repo,
      { folder: TEST, labels: 'folders' },
      {
        importId,
        batchSize: 100,
        progressIntervalMs: 0,
        signal: controller.signal,
        onProgress: (e) => {
          if (e.phase === 'importing' && e.done >= 300) controller.abort()
        }
      }
    )
    expect(first.status).toBe('cancelled')
    expect(first.imported).toBe(300)
    expect(repo.stats().images).toBe(300)
    const second = await backend.handlers['library:import']({ folder: TEST, labels: 'folders' })
    expect(second).toMatchObject({ status: 'done', imported: 990, skippedDuplicates: 300 })
  })

  it('cancels through the handler using the import id from the progress events', async () => {
    let cancelled: { cancelled: boolean } | undefined
    backend.on('import-progress', (e) => {
      if (e.phase === 'importing' && !cancelled) {
        void backend.handlers['library:cancelImport']({ importId: e.importId }).then((r) => (cancelled = r))
      }
    })
    const s = await backend.handlers['library:import']({ folder: TRAIN, labels: 'none' })
    expect(cancelled).toEqual({ cancelled: true })
    expect(s.status).toBe('cancelled')
    expect(s.imported).toBeLessThan(6450)
    expect((await backend.handlers['library:stats']({})).images).toBe(s.imported)
    expect(await backend.handlers['library:cancelImport']({ importId: s.importId })).toEqual({
      cancelled: false
    })
  })

  it('makes thumbnails lazily, caches them by hash, and reports a missing file clearly', async () => {
    const src = join(tmp.dir, 'few')
    cpSync(join(TEST, '5'), join(src, '5'), { recursive: true })
    await backend.handlers['library:import']({ folder: src, labels: 'folders' })
    const detail = await backend.handlers['library:image']({ id: 1 })
    const thumbFile = join(`${project()}.thumbs`, `${detail.hash}.png`)
    expect(existsSync(thumbFile)).toBe(false)
    const thumb = await backend.media('thumb', 1)
    expect(thumb.mime).toBe('image/png')
    expect(thumb.data.subarray(1, 4).toString()).toBe('PNG')
    expect(existsSync(thumbFile)).toBe(true)
    const full = await backend.media('full', 1)
    expect(full.data.readUInt32BE(16)).toBe(32) // IHDR width of the full image
    expect(thumb.data.readUInt32BE(16)).toBe(96)
    renameSync(detail.path, `${detail.path}.gone`)
    await expect(backend.media('full', 1)).rejects.toThrow(/file not found/)
    await expect(backend.media('thumb', 999)).rejects.toThrow(/image 999 not found/)
  })
})

describe.skipIf(!sharedDataAvailable())('crash during import', () => {
  it('a killed import leaves only whole batches, and a second import completes the library', async () => {
    const tmp = tempDir('ts-crash-')
    const project = join(tmp.dir, 'crash.tsproj')
    try {
      const jiti = join(__dirname, '../../../node_modules/jiti/lib/jiti-cli.mjs')
      const child = spawn(
        process.execPath,
        [jiti, join(__dirname, 'fixtures/crashImport.ts'), project, TRAIN],
        {
          stdio: ['ignore', 'pipe', 'pipe']
        }
      )
      let output = ''
      child.stdout.on('data', (d) => (output += d))
      child.stderr.on('data', (d) => (output += d))
      const exited = new Promise<NodeJS.Signals | null>((res) =>
        child.on('exit', (_code, signal) => res(signal))
      )
      // Watch the file from outside (WAL lets a reader in while the child writes) and kill mid-import.
      let seen = 0
      const deadline = Date.now() + 60_000
      while (Date.now() < deadline && child.exitCode === null) {
        await new Promise((r) => setTimeout(r, 15))
        if (!existsSync(project)) continue
        try {
          const db = new Database(project, { readonly: true, fileMustExist: true })
          try {
            seen = (db.prepare('SELECT COUNT(*) AS n FROM images').get() as { n: number }).n
          } finally {
            db.close()
          }
        } catch {
          continue // schema not created yet
        }
        if (seen >= 500) break
      }
      child.kill('SIGKILL')
      expect(await exited, output).toBe('SIGKILL')

      const b = createBackend({ dataDir: join(tmp.dir, 'data'), projectPath: project })
      try {
        const { db } = b.services.projects.require()
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
        const committed = (await b.handlers['library:stats']({})).images
        expect(committed).toBeGreaterThanOrEqual(500)
        expect(committed).toBeLessThan(6450)
        expect(committed % 100).toBe(0) // whole batches only
        const s = await b.handlers['library:import']({ folder: TRAIN, labels: 'folders' })
        expect(s).toMatchObject({ status: 'done', imported: 6450 - committed, skippedDuplicates: committed })
        expect((await b.handlers['classes:list']({})).every((c) => c.count === 150)).toBe(true)
      } finally {
        await b.dispose()
      }
    } finally {
      tmp.remove()
    }
  })
})
