// Every message a UI user can trigger from the services reaches the client coded: the real error paths
// (opening, creating, importing, classes, training refusals, export targets, images, uploads, the
// file-system and SQLite sentences, an internal error) are run on a real backend and a real project, and
// each serialized error must carry a catalogue code whose parameters fill its template, whose English is the
// message the CLI prints, and whose Chinese exists and differs. A throw site that loses its code fails here.
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createBackend, type Backend } from '../../../src/main/backend'
import { serializeError } from '../../../src/main/server/dispatch'
import { checkExportTarget, copyExportFolder } from '../../../src/main/ml/export/folder'
import { exportPreview } from '../../../src/main/training/exportPreview'
import { decodeImage } from '../../../src/main/image/decode'
import { UploadStore } from '../../../src/main/uploads/uploadStore'
import {
  backendEn,
  backendZhCN,
  formatTemplate,
  isMessageKey,
  placeholdersOf
} from '../../../src/shared/messages'
import type { SerializedError } from '../../../src/shared/types'
import { tempDir } from '../../helpers'

/** The error `run` throws (or rejects with), as the client receives it. */
async function caught(run: () => unknown): Promise<SerializedError> {
  try {
    await run()
  } catch (err) {
    return serializeError(err)
  }
  throw new Error('expected an error')
}

const CJK = /[\u4e00-\u9fff]/
/** A reduced AlexNet in BVLC's format (width 1/16, 16 fc units), see test/fixtures/alexnet-bvlc/make.py. */
const REDUCED_NPY = resolve(__dirname, '../../fixtures/alexnet-bvlc/reduced-alexnet.npy')

/** A coded error, fully: known code, every parameter given, the English is the message, a Chinese exists. */
function expectCoded(e: SerializedError, code: string): void {
  expect(e.code, e.message).toBe(code)
  expect(isMessageKey(e.code)).toBe(true)
  const key = e.code as keyof typeof backendEn
  const params = e.params ?? {}
  for (const p of placeholdersOf(backendEn[key])) expect(params, `${code} {${p}}`).toHaveProperty(p)
  expect(formatTemplate(backendEn[key], params)).toBe(e.message)
  const zh = formatTemplate(backendZhCN[key], params)
  expect(zh).toMatch(CJK)
  expect(zh).not.toBe(e.message)
  // A coded reason (`reasonCode`) is a catalogue key too, so the reason reads in Chinese as well.
  if (typeof params.reasonCode === 'string') expect(isMessageKey(params.reasonCode)).toBe(true)
}

describe('coded errors on the real error paths', () => {
  let tmp: ReturnType<typeof tempDir>
  let b: Backend
  beforeEach(() => {
    tmp = tempDir('ts-coded-')
    b = createBackend({ dataDir: join(tmp.dir, 'data') })
  })
  afterEach(async () => {
    await b.dispose()
    tmp.remove()
  })

  it('words project open and create refusals', async () => {
    const h = b.handlers
    expectCoded(await caught(() => h['library:stats']({})), 'project.noneOpen')
    const missing = join(tmp.dir, 'nope.tsproj')
    const e = await caught(() => h['project:open']({ path: missing }))
    expectCoded(e, 'project.notFound')
    expect(e.params).toEqual({ path: missing })
    mkdirSync(join(tmp.dir, 'folder.tsproj'))
    expectCoded(
      await caught(() => h['project:open']({ path: join(tmp.dir, 'folder.tsproj') })),
      'project.isFolder'
    )
    writeFileSync(join(tmp.dir, 'empty.tsproj'), '')
    expectCoded(
      await caught(() => h['project:open']({ path: join(tmp.dir, 'empty.tsproj') })),
      'project.emptyFile'
    )
    writeFileSync(join(tmp.dir, 'junk.tsproj'), 'x'.repeat(4096))
    const junk = await caught(() => h['project:open']({ path: join(tmp.dir, 'junk.tsproj') }))
    expectCoded(junk, 'project.cannotOpen')
    // The reason is SQLite's, worded from the catalogue too.
    expect(junk.params?.reasonCode).toBe('sqlite.notadb')
    const path = join(tmp.dir, 'p.tsproj')
    await h['project:create']({ path })
    expectCoded(await caught(() => h['project:create']({ path })), 'project.exists')
  })

  it('words import, class and library refusals', async () => {
    const h = b.handlers
    await h['project:create']({ path: join(tmp.dir, 'p.tsproj') })
    const gone = join(tmp.dir, 'no-such-folder')
    expectCoded(
      await caught(() => h['library:import']({ folder: gone, labels: 'folders' })),
      'import.folderNotFound'
    )
    writeFileSync(join(tmp.dir, 'a-file.txt'), 'x')
    expectCoded(
      await caught(() => h['library:import']({ folder: join(tmp.dir, 'a-file.txt'), labels: 'folders' })),
      'import.notAFolder'
    )
    const names = await caught(() =>
      h['library:import']({ folder: tmp.dir, labels: 'folders', namesCsv: join(tmp.dir, 'x.csv') })
    )
    expectCoded(names, 'import.cannotReadNames')
    expect(names.params?.reasonCode).toBe('fs.notFound')
    expectCoded(
      await caught(() => h['library:import']({ folder: tmp.dir, labels: 'gtsrb-csv' })),
      'import.noCsv'
    )
    // A file the import skips is reported with a coded reason too.
    const shelf = join(tmp.dir, 'shelf')
    mkdirSync(shelf)
    symlinkSync(join(tmp.dir, 'not-there.png'), join(shelf, 'dangling.png'))
    const summary = await h['library:import']({ folder: shelf, labels: 'none' })
    expect(summary.failed).toHaveLength(1)
    const skipped = summary.failed[0]
    expectCoded({ name: 'ImportFailure', message: skipped.reason, ...skipped }, 'importFile.brokenLink')

    const a = await h['classes:add']({ name: 'Stop', key: 's' })
    expectCoded(await caught(() => h['classes:add']({ name: 'Other', key: 's' })), 'library.keyTaken')
    expectCoded(await caught(() => h['classes:rename']({ id: 999, name: 'x' })), 'library.classNotFound')
    expectCoded(
      await caught(() => h['classes:merge']({ sourceId: a.id, targetId: a.id })),
      'library.mergeSelf'
    )
    expectCoded(
      await caught(() => h['classes:delete']({ id: a.id, reassignTo: a.id })),
      'library.reassignSelf'
    )
    expectCoded(await caught(() => h['library:image']({ id: 999 })), 'library.imageNotFound')
  })

  it('words training refusals', async () => {
    const h = b.handlers
    await h['project:create']({ path: join(tmp.dir, 'p.tsproj') })
    const config = await h['training:defaults']({ strategy: 'retrain' })
    expectCoded(await caught(() => h['training:start']({ config })), 'training.fewClasses')
    expectCoded(await caught(() => h['training:resume']({ runId: 42 })), 'training.runNotFound')

    // The base check answers (it never throws): each answer is coded the same way.
    const check = async (base: Parameters<(typeof h)['training:validateBase']>[0]['base']) => {
      const r = await h['training:validateBase']({ base })
      return { name: 'BaseCheck', message: r.message, code: r.code, params: r.params }
    }
    expectCoded(await check({ kind: 'none' }), 'base.none')
    const nowhere = join(tmp.dir, 'nowhere.npy')
    expectCoded(await check({ kind: 'bvlc-npy', path: nowhere }), 'base.nothingAt')
    expectCoded(await check({ kind: 'bvlc-npy', path: tmp.dir }), 'base.folderNpy')
    writeFileSync(join(tmp.dir, 'junk.npy'), 'not numpy')
    const junk = await check({ kind: 'bvlc-npy', path: join(tmp.dir, 'junk.npy') })
    expectCoded(junk, 'base.unusable')
    expect(junk.params?.name).toBe('junk.npy')
    // The answers that accept a base are worded from the catalogue too (the wizard shows them).
    const reduced = await check({ kind: 'bvlc-npy', path: REDUCED_NPY })
    expectCoded(reduced, 'base.bvlcReduced')
    expect(reduced.params).toMatchObject({ width: 0.0625, filters: 6, fcLayers: 'fc6/fc7/fc8', units: 16 })
    expectCoded(await check({ kind: 'studio-model', path: join(tmp.dir, 'junk.npy') }), 'base.studioIsFile')
    expectCoded(await check({ kind: 'studio-model', path: tmp.dir }), 'base.studioNoModel')
  })

  it('words export target refusals and the preview’s problems and file descriptions', async () => {
    const full = join(tmp.dir, 'full')
    mkdirSync(full)
    writeFileSync(join(full, 'keep.txt'), 'mine')
    expectCoded(await caught(() => checkExportTarget(full)), 'export.notEmpty')
    expectCoded(await caught(() => checkExportTarget(join(full, 'keep.txt'))), 'export.isFile')
    expectCoded(await caught(() => copyExportFolder(tmp.dir, join(tmp.dir, 'out'))), 'export.notExportFolder')
    expect(readFileSync(join(full, 'keep.txt'), 'utf8')).toBe('mine')
    // The preview words its problem and each file from the catalogue too.
    const model = join(tmp.dir, 'run', 'model')
    mkdirSync(model, { recursive: true })
    for (const f of ['metadata.json', 'model.json', 'group1-shard1of1.bin'])
      writeFileSync(join(model, f), '{}')
    const run = { id: 1, status: 'completed', runDir: join(tmp.dir, 'run') }
    const training = { get: () => run } as never
    expectCoded(
      await caught(() => exportPreview({ get: () => ({ ...run, status: 'failed' }) } as never, 1, full)),
      'training.noModel'
    )
    const preview = await exportPreview(training, 1, full)
    expect(preview.problemCode).toBe('export.problemNotEmpty')
    expect(preview.files.map((f) => f.code)).toEqual([
      'exportFile.readme',
      'exportFile.shard',
      'exportFile.metadata',
      'exportFile.model'
    ])
    for (const f of preview.files) expect(backendZhCN[f.code]).toMatch(CJK)
  })

  it('words image, upload, file-system, SQLite and internal errors', async () => {
    const missing = await caught(() => decodeImage(join(tmp.dir, 'gone.png')))
    expectCoded(missing, 'image.unreadable')
    expect(missing.params?.reasonCode).toBe('image.moved')
    writeFileSync(join(tmp.dir, 'notes.png'), 'not an image at all')
    const bad = await caught(() => decodeImage(join(tmp.dir, 'notes.png')))
    expectCoded(bad, 'image.undecodable')
    expect(bad.params?.reasonCode).toBe('image.unsupported')

    const uploads = new UploadStore({ dir: join(tmp.dir, 'uploads') } as never)
    try {
      expectCoded(await caught(() => uploads.receive(Readable.from([]), 'x.png')), 'upload.empty')
      expectCoded(await caught(() => uploads.get('nope')), 'upload.gone')
    } finally {
      await (uploads as unknown as { dispose?: () => Promise<void> }).dispose?.()
    }

    expectCoded(await caught(() => readFileSync(join(tmp.dir, 'secret', 'a.ppm'))), 'fs.notFound')
    const origError = console.error
    console.error = () => undefined
    try {
      const internal = serializeError(new TypeError('x is undefined'))
      expectCoded(internal, 'internal')
      expect(internal.message).not.toContain('x is undefined')
    } finally {
      console.error = origError
    }
  })
})

// The services a UI user talks to: a sentence thrown there as plain text would reach the UI in English.
const SERVICES = [
  'project/projectService.ts',
  'library/libraryService.ts',
  'library/importer.ts',
  'training/trainingService.ts',
  'training/baseCheck.ts',
  'training/exportPreview.ts',
  'training/runModel.ts',
  'ml/export/folder.ts',
  'uploads/uploadStore.ts',
  'backend/hub.ts'
]

describe('user-facing throw sites', () => {
  it('word every sentence from the catalogue (no `new Error(` with text in the services)', () => {
    const root = resolve(__dirname, '../../../src/main')
    for (const file of SERVICES) {
      const text = readFileSync(join(root, file), 'utf8')
      // `\s*` spans a line break too: `throw new Error(` then the text on the next line.
      const plain = [...text.matchAll(/new (Error|ValidationError|NotFoundError)\(\s*[`'"][^\n]*/g)].map(
        (m) => m[0]
      )
      expect(plain, file).toEqual([])
    }
  })
})
