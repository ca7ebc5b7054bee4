// Run ownership across real processes: a real `transfer-studio train` child trains a small GTSRB project
// while this process opens the same project through the real services. Its live run stays `running` and
// resuming it is refused; killed with -9, the next open marks it interrupted at once (its pid is gone), and
// `train --resume <id>` in a new child continues it from the checkpoint rather than from epoch 1.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../../src/main/cli'
import { createRunsRepo, STALE_MS } from '../../../src/main/db/runsRepo'
import { ProjectService } from '../../../src/main/project/projectService'
import { TrainingService, inProcessRunner } from '../../../src/main/training/trainingService'
import { SHARED_DATA, sharedDataAvailable, tempDir } from '../../helpers'

const CLASSES = ['14', '17', '38']
// Enough epochs that the child still trains while the first test reads its heartbeat (2.5 s) after an
// in-process CLI call: with 6, an unloaded CI machine finished the run first (6 s in all).
const EPOCHS = 30
const JITI = join(__dirname, '../../../node_modules/jiti/lib/jiti-cli.mjs')
const CHILD = join(__dirname, 'runsCliChild.ts')

interface Child {
  proc: ChildProcess
  output: () => string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** A real CLI process (the source through jiti) with its own data folder. */
function cliChild(dataDir: string, argv: string[]): Child {
  const proc = spawn(process.execPath, [JITI, CHILD, dataDir, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  proc.stdout?.on('data', (d) => (out += d))
  proc.stderr?.on('data', (d) => (out += d))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    proc.on('exit', (code, signal) => res({ code, signal }))
  )
  return { proc, output: () => out, exited }
}

/** Reads the project file from outside, the way another process would (WAL lets a reader in). */
function peek<T>(file: string, fn: (db: Database.Database) => T): T | null {
  if (!existsSync(file)) return null
  let db: Database.Database | null = null
  try {
    db = new Database(file, { readonly: true, fileMustExist: true })
    return fn(db)
  } catch {
    return null // schema not there yet
  } finally {
    db?.close()
  }
}

interface EpochRow {
  epoch: number
  train_loss: number
  seconds: number
}
const epochRows = (file: string, runId: number): EpochRow[] =>
  (peek(file, (db) =>
    db.prepare('SELECT epoch, train_loss, seconds FROM run_epochs WHERE run_id = ? ORDER BY epoch').all(runId)
  ) as EpochRow[] | null) ?? []

async function until<T>(what: string, ms: number, fn: () => T | null | undefined | false): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = fn()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe.skipIf(!sharedDataAvailable())('runs owned by another process', () => {
  let tmp: ReturnType<typeof tempDir>
  let project: string
  let dataDir: string
  let trainer: Child | null = null
  let runId = -1
  let checkpointEpochAtKill = -1
  let rowsAtKill: EpochRow[] = []

  beforeAll(async () => {
    tmp = tempDir('ts-runs-')
    dataDir = join(tmp.dir, 'data')
    const images = join(tmp.dir, 'signs')
    for (const c of CLASSES) {
      mkdirSync(join(images, c), { recursive: true })
      const train = join(SHARED_DATA, 'gtsrb-train', c)
      for (const f of readdirSync(train).sort().slice(0, 90)) symlinkSync(join(train, f), join(images, c, f))
    }
    project = join(tmp.dir, 'signs.tsproj')
    const quiet = { write: () => {} }
    const io = { stdout: quiet, stderr: quiet, dataDir }
    expect(await runCli(['import', images, '--project', project, '--json'], io)).toBe(0)
    expect(await runCli(['split', '--project', project, '--val', '0.2', '--test', '0', '--json'], io)).toBe(0)
  }, 60_000)
  afterAll(() => {
    if (trainer && trainer.proc.exitCode === null && trainer.proc.signalCode === null)
      trainer.proc.kill('SIGKILL')
    tmp.remove()
  })

  it("keeps another process's live run running and refuses to resume it", async () => {
    trainer = cliChild(dataDir, [
      'train',
      '--project',
      project,
      '--strategy',
      'custom',
      '--epochs',
      String(EPOCHS),
      '--width',
      '0.25',
      '--fc-units',
      '32',
      '--no-batch-norm',
      '--no-augment',
      '--batch-size',
      '16',
      '--patience',
      '0',
      '--json'
    ])
    const child = trainer
    // Running, with its first epoch (and so a checkpoint) done, and more to go.
    const run = await until('the child to finish an epoch', 45_000, () => {
      if (child.proc.exitCode !== null) throw new Error(`the trainer exited early:\n${child.output()}`)
      return peek(project, (db) =>
        db
          .prepare(
            "SELECT r.id, r.owner_pid, r.heartbeat_at FROM runs r WHERE r.status = 'running' AND EXISTS (SELECT 1 FROM run_epochs e WHERE e.run_id = r.id)"
          )
          .get()
      ) as { id: number; owner_pid: number; heartbeat_at: number } | undefined
    })
    runId = run.id
    // The CLI process itself trains (in process), so it is the owner.
    expect(run.owner_pid).toBe(child.proc.pid)

    // This process opens the same project through the real services while the child trains.
    const projects = new ProjectService(join(tmp.dir, 'data-here'))
    projects.openProject(project)
    try {
      const training = new TrainingService(projects, { runner: inProcessRunner() })
      expect(training.get(runId).status).toBe('running')
      await expect(training.resume(runId)).rejects.toThrow(
        new RegExp(`run ${runId} is being trained by another process \\(pid ${child.proc.pid} on `)
      )
      // The CLI's own --resume is refused the same way, with the message on stderr and exit code 1.
      let err = ''
      const code = await runCli(['train', '--project', project, '--resume', String(runId)], {
        stdout: { write: () => {} },
        stderr: { write: (t: string) => void (err += t) },
        dataDir: join(tmp.dir, 'data-here')
      })
      expect(code).toBe(1)
      expect(err).toMatch(/is being trained by another process/)
      // The heartbeat advances while it trains: measured between two reads ~2.5 s apart.
      const repo = createRunsRepo(projects.require().db)
      const first = repo.owner(runId)?.heartbeatAt as number
      await new Promise((r) => setTimeout(r, 2500))
      const second = repo.owner(runId)?.heartbeatAt as number
      console.log(`heartbeat advanced ${second - first} ms over a 2500 ms wait`)
      expect(second).toBeGreaterThan(first)
      expect(Date.now() - second).toBeLessThan(STALE_MS)
      expect(training.get(runId).status).toBe('running')
    } finally {
      projects.close()
    }
    expect(child.proc.exitCode).toBeNull() // still training: the test above ran against a live owner
  }, 120_000)

  it('a run killed with -9 reads as interrupted, and train --resume continues it from its checkpoint', async () => {
    const child = trainer as Child
    const runDir = peek(project, (db) =>
      db.prepare('SELECT run_dir FROM runs WHERE id = ?').pluck().get(runId)
    ) as string
    // Kill only once a checkpoint exists and before the last epoch, so there is something to continue.
    await until('a checkpoint', 30_000, () => existsSync(join(runDir, 'checkpoint.json')))
    child.proc.kill('SIGKILL')
    expect((await child.exited).signal).toBe('SIGKILL')
    const killedAt = Date.now()
    checkpointEpochAtKill = (
      JSON.parse(readFileSync(join(runDir, 'checkpoint.json'), 'utf8')) as { epoch: number }
    ).epoch
    rowsAtKill = epochRows(project, runId)
    expect(checkpointEpochAtKill).toBeGreaterThanOrEqual(1)
    expect(checkpointEpochAtKill).toBeLessThan(EPOCHS)

    // The next open sees the owner's pid gone on this host: interrupted at once, not after the stale delay.
    const projects = new ProjectService(join(tmp.dir, 'data-here'))
    projects.openProject(project)
    try {
      const training = new TrainingService(projects, { runner: inProcessRunner() })
      const run = training.get(runId)
      const detectMs = Date.now() - killedAt
      console.log(`dead owner detected ${detectMs} ms after the kill (stale delay ${STALE_MS} ms)`)
      expect(run.status).toBe('failed')
      expect(run.error).toMatch(new RegExp(`^interrupted: .*process ${child.proc.pid} on `))
      expect(detectMs).toBeLessThan(STALE_MS)
    } finally {
      projects.close()
    }

    // A new CLI process continues the run.
    const resumed = cliChild(dataDir, ['train', '--project', project, '--resume', String(runId), '--json'])
    // The first epoch it records is the one after the checkpoint, not epoch 1 again.
    const firstNew = await until('the resumed run to record an epoch', 45_000, () => {
      if (resumed.proc.exitCode !== null) return { done: true as const }
      const changed = epochRows(project, runId).find(
        (r) => !rowsAtKill.some((k) => k.epoch === r.epoch && k.seconds === r.seconds)
      )
      return changed ? { done: false as const, epoch: changed.epoch } : null
    })
    console.log(
      `killed after ${rowsAtKill.length} recorded epochs, checkpoint at epoch ${checkpointEpochAtKill}; ` +
        `the resumed run first recorded epoch ${firstNew.done ? '(none seen before it ended)' : firstNew.epoch}`
    )
    if (!firstNew.done) expect(firstNew.epoch).toBe(checkpointEpochAtKill + 1)
    const end = await resumed.exited
    expect(end.code, resumed.output()).toBe(0)
    const summary = JSON.parse(resumed.output().slice(resumed.output().indexOf('{'))) as {
      run_id: number
      epochs: number
    }
    expect(summary).toMatchObject({ run_id: runId, epochs: EPOCHS })

    const after = epochRows(project, runId)
    expect(after.map((r) => r.epoch)).toEqual(Array.from({ length: EPOCHS }, (_, i) => i + 1))
    // Epochs up to the checkpoint were not trained again: their recorded rows are untouched.
    for (const k of rowsAtKill.filter((r) => r.epoch <= checkpointEpochAtKill))
      expect(after.find((r) => r.epoch === k.epoch)).toEqual(k)
    const checkpoint = JSON.parse(readFileSync(join(runDir, 'checkpoint.json'), 'utf8')) as {
      epoch: number
      history: unknown[]
    }
    expect(checkpoint.epoch).toBe(EPOCHS)
    expect(checkpoint.history).toHaveLength(EPOCHS)
    const projects2 = new ProjectService(join(tmp.dir, 'data-here'))
    projects2.openProject(project)
    try {
      const run = new TrainingService(projects2, { runner: inProcessRunner() }).get(runId)
      expect(run.status).toBe('completed')
      expect(run.error).toBeNull()
      expect(createRunsRepo(projects2.require().db).owner(runId)).toBeNull()
    } finally {
      projects2.close()
    }
  }, 120_000)
})
