// Two processes on one project file (the app, `serve` and the CLI may all open it): real child processes,
// each with its own backend and SQLite connection, write labels at once through the real LibraryService.
// None of their writes may fail with "database is locked" or be lost, undo may not overwrite the other
// process's newer label, and a backend notices the other process's commits and tells its clients.
import { fork, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBackend, type Backend } from '../../../src/main/backend'
import type { ClientReply, ClientRequest } from './labelClient'
import { linkEveryNthFrame, sharedDataAvailable, tempDir } from '../../helpers'

const CLIENT = join(__dirname, 'labelClient.ts')
/** 8 GTSRB classes of 150 frames each: 1,200 images, one label write each. */
const CLASSES = [0, 1, 2, 3, 4, 5, 6, 7]

interface Client {
  request(req: ClientRequest): Promise<ClientReply>
  exit(): Promise<void>
}

/** Fork a label client on `project`; resolves once its backend has the project open. */
async function startClient(project: string, dataDir: string): Promise<Client> {
  const child: ChildProcess = fork(CLIENT, [project, dataDir], {
    execArgv: ['--import', 'jiti/register'],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc']
  })
  let output = ''
  child.stdout?.on('data', (d) => (output += d))
  child.stderr?.on('data', (d) => (output += d))
  const waiting: ((r: ClientReply) => void)[] = []
  const exited = new Promise<void>((res) => child.on('exit', () => res()))
  const next = (): Promise<ClientReply> =>
    new Promise((res, rej) => {
      waiting.push(res)
      void exited.then(() => rej(new Error(`label client exited early:\n${output}`)))
    })
  child.on('message', (m: ClientReply) => waiting.shift()?.(m))
  const ready = await next()
  if (ready.type !== 'ready') throw new Error(`label client did not start: ${JSON.stringify(ready)}`)
  return {
    request(req) {
      const r = next()
      child.send(req)
      return r
    },
    async exit() {
      if (child.exitCode === null) child.send({ type: 'exit' })
      await exited
    }
  }
}

/** Poll `check` until it holds or `ms` pass (bounded waits only). */
async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  return check()
}

describe.skipIf(!sharedDataAvailable())('two processes on one project', () => {
  let tmp: ReturnType<typeof tempDir>
  let project: string
  let ids: number[]
  /** Class id by position (classes 0..7 in order). */
  let classIds: number[]
  /** Each image's class position after the folder import. */
  let positionOf: Map<number, number>

  beforeAll(async () => {
    tmp = tempDir('ts-concurrency-')
    project = join(tmp.dir, 'shared.tsproj')
    const folder = linkEveryNthFrame(join(tmp.dir, 'gtsrb'), CLASSES, 1)
    const b = createBackend({ dataDir: join(tmp.dir, 'setup'), projectPath: project })
    try {
      const s = await b.handlers['library:import']({ folder, labels: 'folders' })
      expect(s.imported).toBe(1200)
      classIds = s.classes.map((c) => c.id)
      const images = b.services.library.listImages()
      ids = images.map((i) => i.id)
      positionOf = new Map(images.map((i) => [i.id, classIds.indexOf(i.classId as number)]))
    } finally {
      await b.dispose()
    }
  })
  afterAll(() => tmp.remove())

  it('2 x 600 concurrent label writes: none fails, none is lost', async () => {
    // Every image moves to the next class, so each write changes exactly one row to a known value.
    const target = (id: number): number => classIds[((positionOf.get(id) as number) + 1) % classIds.length]
    const halves = [ids.filter((_, i) => i % 2 === 0), ids.filter((_, i) => i % 2 === 1)]
    const clients = await Promise.all([0, 1].map((i) => startClient(project, join(tmp.dir, `client${i}`))))
    try {
      const replies = await Promise.all(
        clients.map((c, i) =>
          c.request({ type: 'label', items: halves[i].map((id) => [id, target(id)] as [number, number]) })
        )
      )
      const db = new Database(project, { readonly: true, fileMustExist: true })
      let landed: number
      try {
        const rows = db.prepare('SELECT id, class_id FROM images').all() as { id: number; class_id: number }[]
        landed = rows.filter((r) => r.class_id === target(r.id)).length
      } finally {
        db.close()
      }
      const attempted = replies.reduce((n, r) => n + (r.type === 'labelled' ? r.attempted : 0), 0)
      const failed = replies.reduce((n, r) => n + (r.type === 'labelled' ? r.failed : 0), 0)
      const lost = attempted - failed - landed
      console.log(
        `concurrency: attempted ${attempted}, failed ${failed}, lost ${lost}`,
        JSON.stringify(replies)
      )
      expect(attempted).toBe(1200)
      expect({ failed, lost }).toEqual({ failed: 0, lost: 0 })
      expect(landed).toBe(1200)
    } finally {
      await Promise.all(clients.map((c) => c.exit()))
    }
  }, 60_000)
  it('undo in one process leaves the label another process set since, and says it skipped it', async () => {
    const [a, b] = await Promise.all([0, 1].map((i) => startClient(project, join(tmp.dir, `undo${i}`))))
    try {
      const [first, second] = ids.slice(0, 2)
      const label = (id: number): number | null => {
        const db = new Database(project, { readonly: true, fileMustExist: true })
        try {
          return (db.prepare('SELECT class_id AS c FROM images WHERE id = ?').get(id) as { c: number | null })
            .c
        } finally {
          db.close()
        }
      }
      const [was1, was2] = [label(first), label(second)]
      const x = classIds.find((c) => c !== was1 && c !== was2) as number
      const y = classIds.find((c) => c !== was1 && c !== was2 && c !== x) as number
      // A labels both images x (one undo step); B then relabels the first one y; A undoes.
      expect(await a.request({ type: 'setLabel', ids: [first, second], classId: x })).toEqual({
        type: 'set',
        changed: 2
      })
      expect(await b.request({ type: 'setLabel', ids: [first], classId: y })).toEqual({
        type: 'set',
        changed: 1
      })
      expect(await a.request({ type: 'undo' })).toEqual({ type: 'undone', changed: 1, skipped: 1 })
      expect([label(first), label(second)]).toEqual([y, was2])
      // Redo repeats only what the undo did: the second image goes back to x, B's label still stays.
      expect(await a.request({ type: 'redo' })).toEqual({ type: 'redone', changed: 1 })
      expect([label(first), label(second)]).toEqual([y, x])
      // B relabels the second image too: A's next undo has nothing left to do.
      expect(await b.request({ type: 'setLabel', ids: [second], classId: y })).toEqual({
        type: 'set',
        changed: 1
      })
      expect(await a.request({ type: 'undo' })).toEqual({ type: 'undone', changed: 0, skipped: 1 })
      expect([label(first), label(second)]).toEqual([y, y])
    } finally {
      await Promise.all([a.exit(), b.exit()])
    }
  }, 60_000)

  it("a backend tells its clients about another process's commits (data_version), not about its own", async () => {
    const backend: Backend = createBackend({ dataDir: join(tmp.dir, 'watcher'), projectPath: project })
    const reasons: string[] = []
    const off = backend.on('library-changed', (e) => reasons.push(e.reason))
    const other = await startClient(project, join(tmp.dir, 'writer'))
    try {
      // Its own label change is announced as 'labels' only, and nothing follows from the watcher.
      const id = ids[10]
      const own = classIds.find((c) => c !== backend.services.library.image(id).classId) as number
      backend.services.library.setLabel([id], own)
      await new Promise((r) => setTimeout(r, 1500))
      expect(reasons).toEqual(['labels'])
      reasons.length = 0
      // The other process's write arrives as 'external' within the poll interval (1 s) and a margin.
      const started = Date.now()
      const next = classIds.find((c) => c !== own) as number
      expect(await other.request({ type: 'label', items: [[id, next]] })).toMatchObject({ failed: 0 })
      expect(await waitFor(() => reasons.includes('external'), 3000)).toBe(true)
      console.log(`data_version: library-changed after ${Date.now() - started} ms`)
      expect(backend.services.library.image(id).classId).toBe(next)
      // A commit that leaves the library as it was (a trainer's run row) is not news for the library views.
      reasons.length = 0
      const raw = new Database(project)
      try {
        raw
          .prepare("INSERT INTO runs (created_at, strategy, status) VALUES (?, 'linear', 'failed')")
          .run(new Date().toISOString())
      } finally {
        raw.close()
      }
      await new Promise((r) => setTimeout(r, 1500))
      expect(reasons).toEqual([])
    } finally {
      off()
      await other.exit()
      await backend.dispose()
    }
  }, 60_000)
})
