// Reproduction for the ACCURACY.md anomaly (trainer val accuracy far below exported-model test accuracy on the
// target runs): trains small runs on a few GTSRB classes and compares the trainer's val accuracy with an
// independent evaluation of the exported model on the same val examples and on gtsrb-test.
// Run: npx jiti bench/lib/valVsExport.ts
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Strategy, TrainConfig } from '../../src/shared/training'
import { cliRunner } from './cli'
import { createBackend } from '../../src/main/backend'
import { TrainingService, inProcessRunner } from '../../src/main/training/trainingService'
import { evaluateExamples, loadClassifier } from '../../src/main/ml/evaluate/classifier'
import { examplesFromFolder } from '../../src/main/ml/data/folder'
import { parseNamesCsv } from '../../src/main/library/labelSources'

const DATA = process.env.TS_SHARED_DATA ?? resolve(__dirname, '../../../shared/data')
const NAMES = join(DATA, 'signnames.csv')
const CLASSES = (process.env.CLASSES ?? '22,23,24,25,26,27').split(',').map(Number)
const tmp = mkdtempSync(join(tmpdir(), 'ts-valvs-'))
const dataDir = join(tmp, 'appdata')

/** Runs one CLI command in-process; returns its stdout (JSON with --json). */
const cli = cliRunner(dataDir)

async function main(): Promise<void> {
  const src = join(tmp, 'images')
  for (const c of CLASSES)
    cpSync(join(DATA, 'gtsrb-train', String(c)), join(src, String(c)), { recursive: true })
  const project = join(tmp, 'p.tsproj')
  await cli(['import', src, '--project', project, '--names', NAMES, '--json'])
  void (await cli([
    'split',
    '--project',
    project,
    '--val',
    '0.2',
    '--test',
    '0',
    '--group-by',
    'track',
    '--seed',
    process.env.SEED ?? '42',
    '--json'
  ]))
  const runs: [Strategy, (c: TrainConfig) => void][] = [
    [
      'retrain',
      (c) => {
        c.model = { ...c.model, width: 0.25, fcUnits: 512 }
        c.preprocessing.inputSize = 67
        c.batchSize = 64
        c.earlyStoppingPatience = 0
        c.lrSchedule = 'one-cycle'
        c.epochs = Number(process.env.EPOCHS ?? 3)
        c.learningRate = 1e-3
        if (process.env.AUG)
          c.augmentation = {
            enabled: true,
            shift: 0.1,
            rotationDeg: 10,
            scale: 0.1,
            brightness: 0.3,
            contrast: 0.2,
            horizontalFlip: false
          }
      }
    ]
  ]
  const backend = createBackend({ dataDir })
  await backend.handlers['project:open']({ path: project })
  const service = new TrainingService(backend.services.projects, { runner: inProcessRunner() })
  for (const [strategy, edit] of runs) {
    const config = service.defaults(strategy)
    edit(config)
    service.onEvent((e) => {
      if (e.type === 'epoch')
        console.log(
          `epoch ${e.epoch} loss ${e.trainLoss.toFixed(3)} trainAcc ${e.trainAccuracy.toFixed(3)} val ${e.valAccuracy}`
        )
    })
    const { runId } = await service.start(config)
    const run = await service.wait(runId)
    const dir = join(tmp, `export-${strategy}`)
    service.exportRun(runId, dir)
    const data = (
      service as unknown as {
        dataset(): { classes: unknown[]; split(s: string): { label: number; path: string }[] }
      }
    ).dataset()
    const val = data.split('val')
    const loaded = await loadClassifier(dir, { logger: () => {} })
    const ev = await evaluateExamples(loaded, val as never)
    const folder = await examplesFromFolder(join(DATA, 'gtsrb-test'), {
      classes: loaded.labels.map((l) => ({ key: l.key, index: l.index, name: l.name })),
      names: parseNamesCsv(readFileSync(NAMES, 'utf8'))
    })
    const te = await evaluateExamples(loaded, folder.examples)
    console.log(
      `${strategy}: trainer val ${run.valAccuracy}  export-on-val ${ev.accuracy} (${val.length})  export-on-test ${te.accuracy} (${folder.examples.length})`
    )
    console.log(
      'per class (key val/test recall, val support):',
      ev.perClass
        .map(
          (c, i) =>
            `${loaded.labels[i].key} ${c.recall.toFixed(2)}/${te.perClass[i].recall.toFixed(2)} n${c.support}`
        )
        .join('; ')
    )
    console.log(
      'val label histogram',
      JSON.stringify(
        val.reduce((h: Record<number, number>, e) => ((h[e.label] = (h[e.label] ?? 0) + 1), h), {})
      )
    )
  }
  await backend.dispose()
  rmSync(tmp, { recursive: true, force: true })
}
main().catch((e) => {
  console.error(e)
  process.exit(1)
})
