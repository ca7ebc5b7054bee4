// Crash recovery on reopening a project: a run the app left queued or running can never finish and reads as
// failed ("interrupted"), and an import a crash left running reads as interrupted while the images it
// committed before the crash stay in the library.
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createRunsRepo } from '../../../src/main/db/runsRepo'
import { ProjectService } from '../../../src/main/project/projectService'
import { TrainingService, inProcessRunner } from '../../../src/main/training/trainingService'
import { defaultTrainConfig } from '../../../src/main/ml/train/config'
import { tempDir } from '../../helpers'

describe('crash recovery', () => {
  let tmp: ReturnType<typeof tempDir>
  let file: string
  beforeEach(() => {
    tmp = tempDir('ts-crash-')
    file = join(tmp.dir, 'p.tsproj')
  })
  afterEach(() => tmp.remove())

  it('marks runs a crash left queued or running as interrupted, and leaves finished runs alone', () => {
    const before = new ProjectService(join(tmp.dir, 'data'))
    before.create(file)
    const runs = createRunsRepo(before.require().db)
    const config = defaultTrainConfig('custom')
    const at = new Date().toISOString()
    const running = runs.create(config, at)
    runs.setStatus(running, 'running')
    const queued = runs.create(config, at)
    const done = runs.create(config, at)
    runs.setStatus(done, 'completed')
    const cancelled = runs.create(config, at)
    runs.setStatus(cancelled, 'cancelled')
    // The process dies here: the database is closed with the rows as they were.
    before.close()

    const projects = new ProjectService(join(tmp.dir, 'data'))
    projects.openProject(file)
    const training = new TrainingService(projects, { runner: inProcessRunner() })
    const byId = new Map(training.list().map((r) => [r.id, r]))
    for (const id of [running, queued]) {
      expect(byId.get(id)).toMatchObject({ status: 'failed' })
      expect(training.get(id).error).toMatch(/^interrupted: the app stopped during training/)
    }
    expect(byId.get(done)?.status).toBe('completed')
    expect(byId.get(cancelled)?.status).toBe('cancelled')
    expect(training.running).toBeNull()
    projects.close()
  })

  it('reads an import a crash left running as interrupted, keeping the images it committed', () => {
    const before = new ProjectService(join(tmp.dir, 'data'))
    before.create(file)
    const { repo, db } = before.require()
    const importId = repo.startImport('/photos', 'folders', new Date().toISOString())
    // The importer commits images batch by batch; two batches made it to disk before the crash.
    for (let i = 0; i < 5; i++) {
      repo.insertImage({
        path: `/photos/${i}.png`,
        fileName: `${i}.png`,
        importRoot: '/photos',
        hash: `h${i}`,
        format: 'png',
        sizeBytes: 100,
        width: 8,
        height: 8,
        classId: null,
        groupKey: null,
        roi: null,
        cropToRoi: false,
        importedAt: new Date().toISOString(),
        importId
      })
    }
    expect(db.prepare('SELECT status FROM imports WHERE id = ?').pluck().get(importId)).toBe('running')
    before.close()

    const projects = new ProjectService(join(tmp.dir, 'data'))
    projects.openProject(file)
    const reopened = projects.require()
    expect(reopened.db.prepare('SELECT status FROM imports WHERE id = ?').pluck().get(importId)).toBe(
      'interrupted'
    )
    expect(reopened.db.prepare('SELECT COUNT(*) FROM images WHERE import_id = ?').pluck().get(importId)).toBe(
      5
    )
    expect(reopened.repo.stats().images).toBe(5)
    projects.close()
  })
})
