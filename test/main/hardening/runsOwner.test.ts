// Who owns a live run, without training: opening a project fails the queued/running runs whose owner is
// gone (no owner recorded, a stale heartbeat, a pid that no longer exists on this host) and keeps the ones
// a live process holds; a claim on a run another live process holds is refused, and ending a run drops
// its owner. The real-process cases (a CLI trainer, kill -9, --resume) are in runsProcess.test.ts.
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import Database from 'better-sqlite3'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  HEARTBEAT_MS,
  RunOwnedError,
  STALE_MS,
  createRunsRepo,
  ownerAlive
} from '../../../src/main/db/runsRepo'
import { ProjectService } from '../../../src/main/project/projectService'
import { TrainingService, inProcessRunner, type JobRunner } from '../../../src/main/training/trainingService'
import type { TrainJobResult } from '../../../src/main/ml'
import { defaultTrainConfig } from '../../../src/main/ml/train/config'
import { tempDir } from '../../helpers'

/** The pid of a process that has just exited, so it exists on no host any more (barring reuse). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'])
  return Number(r.stdout.toString())
}

describe('run owners', () => {
  let tmp: ReturnType<typeof tempDir>
  let file: string
  beforeEach(() => {
    tmp = tempDir('ts-owner-')
    file = join(tmp.dir, 'p.tsproj')
  })
  afterEach(() => tmp.remove())

  it('beats faster than it goes stale', () => {
    expect(HEARTBEAT_MS).toBeLessThanOrEqual(2000)
    expect(STALE_MS).toBeGreaterThanOrEqual(4 * HEARTBEAT_MS)
  })

  it('opening fails only runs whose owner is gone', () => {
    const before = new ProjectService(join(tmp.dir, 'data'))
    before.create(file)
    const { db } = before.require()
    const runs = createRunsRepo(db)
    const config = defaultTrainConfig('custom')
    const at = new Date().toISOString()
    const now = Date.now()
    const host = hostname()
    const set = db.prepare('UPDATE runs SET owner_pid = ?, owner_host = ?, heartbeat_at = ? WHERE id = ?')
    const make = (pid: number | null, h: string | null, beat: number | null): number => {
      const id = runs.create(config, at)
      runs.setStatus(id, 'running')
      set.run(pid, h, beat, id)
      return id
    }
    const live = make(process.pid, host, now) // this very process, beating
    const otherHost = make(999_999, 'another-machine', now) // a pid we cannot check: the heartbeat decides
    const dead = make(deadPid(), host, now) // fresh heartbeat, but its pid is gone on this host
    const stale = make(process.pid, host, now - STALE_MS - 1000) // alive pid, no beat for > STALE_MS
    const staleRemote = make(999_999, 'another-machine', now - STALE_MS - 1000)
    const legacy = make(null, null, null) // a run from before owners were recorded
    before.close()

    const projects = new ProjectService(join(tmp.dir, 'data'))
    projects.openProject(file)
    const training = new TrainingService(projects, { runner: inProcessRunner() })
    const status = (id: number): string => training.get(id).status
    expect(status(live)).toBe('running')
    expect(status(otherHost)).toBe('running')
    for (const id of [dead, stale, staleRemote, legacy]) {
      expect(status(id)).toBe('failed')
      expect(training.get(id).error).toMatch(/^interrupted: the app stopped during training/)
    }
    expect(training.get(dead).error).toContain(`on ${host}`)
    // A failed run has no owner left to hold it.
    const repo = createRunsRepo(projects.require().db)
    expect(repo.owner(dead)).toBeNull()
    projects.close()
  })

  it('a read-only open fails nothing (it cannot write)', () => {
    const before = new ProjectService(join(tmp.dir, 'data'))
    before.create(file)
    const runs = createRunsRepo(before.require().db)
    const id = runs.create(defaultTrainConfig('custom'), new Date().toISOString())
    runs.setStatus(id, 'running')
    before.close()
    const db = new Database(file, { readonly: true, fileMustExist: true })
    try {
      const ro = createRunsRepo(db)
      expect(ro.markInterrupted()).toBe(0)
      expect(ro.get(id)?.status).toBe('running')
    } finally {
      db.close()
    }
  })

  it('refuses a claim on a run another live process holds, and frees the run when it ends', async () => {
    const projects = new ProjectService(join(tmp.dir, 'data'))
    projects.create(file)
    const runs = createRunsRepo(projects.require().db)
    const id = runs.create(defaultTrainConfig('custom'), new Date().toISOString())
    // Another process on another machine (its pid cannot be checked here) trains it and beats.
    runs.claim(id, { pid: 4242, host: 'another-machine' })
    expect(ownerAlive(runs.owner(id))).toBe(true)
    expect(() => runs.claim(id, { pid: process.pid, host: hostname() })).toThrow(RunOwnedError)
    expect(() => runs.claim(id, { pid: process.pid, host: hostname() })).toThrow(
      /run \d+ is being trained by another process \(pid 4242 on another-machine/
    )
    const training = new TrainingService(projects, { runner: inProcessRunner() })
    await expect(training.resume(id)).rejects.toThrow(/being trained by another process \(pid 4242/)
    // Once its heartbeat is stale the run can be taken over.
    expect(runs.claim(id, { pid: 4242, host: 'another-machine' }, Date.now() - STALE_MS - 1)).toBeUndefined()
    runs.claim(id, { pid: process.pid, host: hostname() })
    expect(runs.owner(id)).toMatchObject({ pid: process.pid, host: hostname() })
    // A heartbeat from someone who lost the run changes nothing.
    expect(runs.beat(id, { pid: 4242, host: 'another-machine' })).toBe(false)
    expect(runs.beat(id, { pid: process.pid, host: hostname() })).toBe(true)
    runs.setStatus(id, 'cancelled')
    expect(runs.owner(id)).toBeNull()
    expect(runs.beat(id, { pid: process.pid, host: hostname() })).toBe(false)
    projects.close()
  })
  it('a worker-thread heartbeat keeps beating while training blocks this thread', async () => {
    const projects = new ProjectService(join(tmp.dir, 'data'))
    projects.create(file)
    const runs = createRunsRepo(projects.require().db)
    const id = runs.create(defaultTrainConfig('custom'), new Date().toISOString())
    const runDir = join(tmp.dir, 'run')
    mkdirSync(runDir)
    writeFileSync(join(runDir, 'checkpoint.json'), '{}')
    runs.setRunDir(id, runDir)
    runs.setStatus(id, 'failed', 'interrupted')
    const blockMs = 3 * HEARTBEAT_MS + 500
    let blockedFrom = 0
    let beatAfterBlock = 0
    // A job that holds this thread the way one long synchronous TF.js batch does (an AlexNet step on wasm).
    const blocking: JobRunner = async () => {
      await new Promise((r) => setTimeout(r, 500)) // the heartbeat worker starts
      blockedFrom = Date.now()
      while (Date.now() - blockedFrom < blockMs) {
        /* busy */
      }
      beatAfterBlock = runs.owner(id)?.heartbeatAt ?? 0
      return {
        kind: 'train',
        status: 'cancelled',
        backend: 'cpu',
        epochsDone: 0,
        history: [],
        valAccuracy: null,
        stoppedEarly: false,
        seconds: 0,
        failed: [],
        modelDir: null
      } satisfies TrainJobResult
    }
    const training = new TrainingService(projects, { runner: blocking, heartbeatThread: true })
    await training.resume(id)
    const run = await training.wait(id)
    expect(run.status).toBe('cancelled')
    // Beats landed while this thread was blocked: the last one is within a beat of the block's end.
    console.log(
      `last heartbeat ${blockedFrom + blockMs - beatAfterBlock} ms before a ${blockMs} ms block ended`
    )
    expect(beatAfterBlock).toBeGreaterThan(blockedFrom + blockMs - 2 * HEARTBEAT_MS)
    expect(runs.owner(id)).toBeNull()
    projects.close()
  })
})
