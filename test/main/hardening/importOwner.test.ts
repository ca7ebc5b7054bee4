// Opening a project marks interrupted only the imports whose process is gone: a real live process that owns
// a `running` import keeps it running across another process's open; once that process is killed, the next
// open marks it interrupted. An import on another host counts as gone only when its last batch is old.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { ProjectService } from '../../../src/main/project/projectService'
import { IMPORT_STALE_MS } from '../../../src/main/db/libraryRepo'
import { tempDir } from '../../helpers'

let tmp: ReturnType<typeof tempDir> | null = null
afterEach(() => {
  tmp?.remove()
  tmp = null
})

/** A fresh project file with one `running` import owned as given. */
function projectWithImport(owner: { pid: number; host: string; heartbeatAt: number }): string {
  tmp = tempDir('ts-import-owner-')
  const file = join(tmp.dir, 'p.tsproj')
  const projects = new ProjectService(join(tmp.dir, 'data'))
  projects.create(file)
  projects.close()
  const db = new Database(file)
  db.prepare(
    "INSERT INTO imports (folder, label_source, started_at, status, owner_pid, owner_host, heartbeat_at) VALUES ('/x', 'folders', ?, 'running', ?, ?, ?)"
  ).run(new Date().toISOString(), owner.pid, owner.host, owner.heartbeatAt)
  db.close()
  return file
}

/** Opens the project as the app would (which marks what it must) and returns the import's status. */
function statusAfterOpen(file: string): string {
  const projects = new ProjectService(join(tmp!.dir, 'data'))
  projects.openProject(file)
  const { db } = projects.require()
  const row = db.prepare('SELECT status FROM imports').get() as { status: string }
  projects.close()
  return row.status
}

describe('imports across processes', () => {
  it("keeps a live process's import running, and interrupts it once that process is killed", async () => {
    const owner = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
    try {
      const { hostname } = await import('node:os')
      const file = projectWithImport({
        pid: owner.pid!,
        host: hostname(),
        heartbeatAt: Date.now() - 3_600_000
      })
      // Same host, pid alive: running, however long since its last batch (a long folder walk).
      expect(statusAfterOpen(file)).toBe('running')
      const gone = new Promise((r) => owner.once('exit', r))
      owner.kill('SIGKILL')
      await gone
      expect(statusAfterOpen(file)).toBe('interrupted')
    } finally {
      owner.kill('SIGKILL')
    }
  })

  it('on another host, goes by the time of the last committed batch', () => {
    const recent = projectWithImport({ pid: 1, host: 'elsewhere.invalid', heartbeatAt: Date.now() - 1000 })
    expect(statusAfterOpen(recent)).toBe('running')
    tmp!.remove()
    const old = projectWithImport({
      pid: 1,
      host: 'elsewhere.invalid',
      heartbeatAt: Date.now() - IMPORT_STALE_MS - 1000
    })
    expect(statusAfterOpen(old)).toBe('interrupted')
  })
})
