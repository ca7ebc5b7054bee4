// The training IPC slice: boundary checks name the channel and field, defaults are valid configs for every
// strategy, and a run started through the handlers trains on the real project and is listed.
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { STRATEGIES } from '../../../src/shared/training'
import { TRAINING_CHANNELS } from '../../../src/shared/trainingIpc'
import { createBackend, type Backend } from '../../../src/main/backend'
import { TrainingService, inProcessRunner } from '../../../src/main/training/trainingService'
import { createTrainingHandlers, type TrainingHandlerImpl } from '../../../src/main/backend/training'
import { validateTrainConfig } from '../../../src/main/ml/train/config'
import { SHARED_DATA, sharedDataAvailable, tempDir } from '../../helpers'
import { baseConfig } from '../ml/train/trainerFixtures'

describe.skipIf(!sharedDataAvailable())('training IPC handlers', () => {
  let tmp: ReturnType<typeof tempDir>
  let backend: Backend
  let service: TrainingService
  let h: TrainingHandlerImpl
  beforeAll(async () => {
    tmp = tempDir()
    const src = join(tmp.dir, 'signs')
    for (const c of ['14', '17']) {
      mkdirSync(join(src, c), { recursive: true })
      const dir = join(SHARED_DATA, 'gtsrb-train', c)
      for (const f of readdirSync(dir).sort().slice(0, 30)) symlinkSync(join(dir, f), join(src, c, f))
    }
    backend = createBackend({ dataDir: join(tmp.dir, 'data'), projectPath: join(tmp.dir, 'p.tsproj') })
    await backend.handlers['library:import']({ folder: src, labels: 'folders' })
    await backend.handlers['library:split']({ val: 0.2, test: 0.2, groupBy: 'track', seed: 1 })
    service = new TrainingService(backend.services.projects, { runner: inProcessRunner() })
    h = createTrainingHandlers({ training: service })
  })
  afterAll(async () => {
    await service?.dispose()
    await backend?.dispose()
    tmp.remove()
  })

  it('implements every channel of the slice', () => {
    expect(Object.keys(h).sort()).toEqual([...TRAINING_CHANNELS].sort())
  })

  it('defaults are valid configs for every strategy; recommend follows the table', async () => {
    for (const s of STRATEGIES) {
      const base =
        s === 'fine-tune' || s === 'feature-extraction'
          ? ({ kind: 'bvlc-npy', path: '/x/bvlc-alexnet.npy' } as const)
          : undefined
      const c = await h['training:defaults']({ strategy: s, base })
      expect(validateTrainConfig(c).strategy).toBe(s)
    }
    expect(await h['training:recommend']({ imagesPerClass: 30, similar: true })).toMatchObject({
      strategy: 'feature-extraction'
    })
    await expect(h['training:recommend']({ imagesPerClass: -1, similar: true })).rejects.toThrow(
      /training:recommend: imagesPerClass/
    )
  })

  it('refuses bad configs with the field named, and starts none', async () => {
    const bad = [
      [{ ...baseConfig(), epochs: 0 }, /epochs/],
      [
        { ...baseConfig(), strategy: 'fine-tune', model: { architecture: 'alexnet' } },
        /config\.base: is needed by fine-tune/
      ],
      [{ ...baseConfig(), learningRate: -1 }, /learningRate/],
      [
        { ...baseConfig(), preprocessing: { ...baseConfig().preprocessing, channelOrder: 'XYZ' } },
        /preprocessing/
      ],
      [{ ...baseConfig(), model: { architecture: 'alexnet' } }, /does not fit strategy custom/]
    ] as const
    for (const [config, message] of bad) {
      await expect(h['training:start']({ config: config as never })).rejects.toThrow(message)
    }
    expect(await h['training:list']({})).toEqual([])
  })

  it('starts, lists and gets a run through the handlers', async () => {
    const { runId } = await h['training:start']({ config: baseConfig({ epochs: 1 }) })
    expect(await h['training:running']({})).toEqual({ runId })
    const early = await h['training:get']({ runId })
    expect(early.status).not.toBe('completed')
    expect(early.hasModel).toBe(false)
    await service.wait(runId)
    const run = await h['training:get']({ runId })
    expect(run.status).toBe('completed')
    expect(Object.keys(run)).not.toContain('runDir')
    // No server path reaches the UI: a later run names this one as its base by id.
    expect(Object.keys(run)).not.toContain('modelDir')
    expect(run.hasModel).toBe(true)
    expect(readdirSync(service.get(runId).modelDir!)).toEqual(
      expect.arrayContaining(['model.json', 'metadata.json'])
    )
    expect((await h['training:list']({})).map((r) => [r.id, r.hasModel])).toEqual([[runId, true]])
    expect(await h['training:cancel']({ runId })).toEqual({ cancelled: false })
    await expect(h['training:get']({ runId: 0 })).rejects.toThrow(/training:get: runId: must be >= 1/)
  })

  it('defaults crop to the ROI when the import asked for it', async () => {
    expect((await h['training:defaults']({ strategy: 'custom' })).preprocessing.cropToRoi).toBe(false)
    // A GTSRB-CSV import with cropToRoi into a second project.
    const folder = join(tmp.dir, 'csv')
    const rows = readFileSync(join(SHARED_DATA, 'annotations', 'gtsrb-train.csv'), 'utf8')
      .trim()
      .split('\n')
    const picked = rows
      .slice(1)
      .filter((r) => r.startsWith('14/') || r.startsWith('17/'))
      .slice(0, 40)
    for (const r of picked) {
      const rel = r.split(';')[0]
      mkdirSync(join(folder, rel.split('/')[0]), { recursive: true })
      symlinkSync(join(SHARED_DATA, 'gtsrb-train', rel), join(folder, rel))
    }
    writeFileSync(join(folder, 'annotations.csv'), [rows[0], ...picked].join('\n'))
    const other = createBackend({ dataDir: join(tmp.dir, 'data2'), projectPath: join(tmp.dir, 'roi.tsproj') })
    try {
      await other.handlers['library:import']({
        folder,
        labels: 'gtsrb-csv',
        annotationsCsv: join(folder, 'annotations.csv'),
        cropToRoi: true
      })
      await other.handlers['library:split']({ val: 0.2, test: 0.2, groupBy: 'track', seed: 1 })
      const roiService = new TrainingService(other.services.projects, { runner: inProcessRunner() })
      const config = await createTrainingHandlers({ training: roiService })['training:defaults']({
        strategy: 'custom'
      })
      expect(config.preprocessing.cropToRoi).toBe(true)
    } finally {
      await other.dispose()
    }
  })
})
