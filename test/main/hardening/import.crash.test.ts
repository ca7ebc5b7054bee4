// An import killed with SIGKILL part-way: its row in `imports` must count the rows it committed (it used to
// say `imported: 0` however many batches had landed). Real child process, real project file, real GTSRB
// images (600 links into the shared gtsrb-train), kill -9, then the file is read as it was left and reopened.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { createBackend } from '../../../src/main/backend'
import { linkEveryNthFrame, sharedDataAvailable, tempDir } from '../../helpers'

interface ImportRow {
  id: number
  status: string
  imported: number
  skipped_duplicates: number
  moved: number
  failed: number
}

/** The import rows and, per import, how many images carry its id: read-only, so nothing is marked yet. */
function readAsLeft(project: string): { rows: ImportRow[]; committed: Map<number, number>; images: number } {
  const db = new Database(project, { readonly: true, fileMustExist: true })
  try {
    const rows = db.prepare('SELECT * FROM imports ORDER BY id').all() as ImportRow[]
    const counts = db
      .prepare('SELECT import_id AS id, COUNT(*) AS n FROM images GROUP BY import_id')
      .all() as { id: number; n: number }[]
    const images = (db.prepare('SELECT COUNT(*) AS n FROM images').get() as { n: number }).n
    return { rows, committed: new Map(counts.map((c) => [c.id, c.n])), images }
  } finally {
    db.close()
  }
}

describe.skipIf(!sharedDataAvailable())('an import cut off by kill -9', () => {
  it('records exactly the rows it committed, and a second import completes the rest', async () => {
    const tmp = tempDir('ts-import-crash-')
    try {
      // 20 classes x every 5th of 150 frames = 600 real images.
      const folder = linkEveryNthFrame(join(tmp.dir, 'signs'), [...Array(20).keys()], 5)
      const total = 600
      const project = join(tmp.dir, 'crash.tsproj')
      const jiti = join(__dirname, '../../../node_modules/jiti/lib/jiti-cli.mjs')
      const child = spawn(process.execPath, [jiti, join(__dirname, 'importCrashChild.ts'), project, folder], {
        stdio: ['ignore', 'pipe', 'pipe']
      })
      let output = ''
      const exited = new Promise<NodeJS.Signals | null>((res) =>
        child.on('exit', (_code, signal) => res(signal))
      )
      // Kill once four batches (100 files) have committed; the child keeps importing while the signal travels.
      await new Promise<void>((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`no progress within 60 s:\n${output}`)), 60_000)
        const watch = (d: Buffer): void => {
          output += d
          const done = [...output.matchAll(/^done (\d+)$/gm)].map((m) => Number(m[1]))
          if (done.length && Math.max(...done) >= 100) {
            clearTimeout(timer)
            child.kill('SIGKILL')
            res()
          }
        }
        child.stdout.on('data', watch)
        child.stderr.on('data', (d) => (output += d))
        child.on('exit', () => res())
      })
      expect(await exited, output).toBe('SIGKILL')
      expect(output).not.toMatch(/finished before the kill/)

      // As the kill left it: one import, still `running`, counting exactly the images that carry its id.
      const left = readAsLeft(project)
      expect(left.rows).toHaveLength(1)
      const [row] = left.rows
      const committed = left.committed.get(row.id) ?? 0
      expect(committed).toBeGreaterThanOrEqual(100)
      expect(committed).toBeLessThan(total)
      expect(committed % 25).toBe(0) // whole batches only
      expect(left.images).toBe(committed)
      expect(row).toMatchObject({ status: 'running', imported: committed, skipped_duplicates: 0, failed: 0 })

      // Reopened: marked interrupted with its counts kept; a second import adds the rest and skips the rest.
      const b = createBackend({ dataDir: join(tmp.dir, 'data'), projectPath: project })
      try {
        const again = await b.handlers['library:import']({ folder, labels: 'folders' })
        expect(again).toMatchObject({
          status: 'done',
          imported: total - committed,
          skippedDuplicates: committed
        })
      } finally {
        await b.dispose()
      }
      const after = readAsLeft(project)
      expect(after.rows.map((r) => [r.status, r.imported, r.skipped_duplicates])).toEqual([
        ['interrupted', committed, 0],
        ['done', total - committed, committed]
      ])
      expect(after.images).toBe(total)
      console.log(`killed after ${committed} of ${total} images committed; the record says ${row.imported}`)
    } finally {
      tmp.remove()
    }
  })
})
