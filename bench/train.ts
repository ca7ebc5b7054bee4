// End-to-end training benchmark on real GTSRB images: one strategy through the real trainer and data
// pipeline, then test accuracy on the track-disjoint gtsrb-test images. Prints one JSON line with images/s
// (training, including the wait for data), seconds per epoch, feature-extraction time and accuracies.
// Run: npx jiti bench/train.ts [--strategy custom|retrain|fine-tune|feature-extraction] [--classes 10]
//        [--per-class 150] [--epochs 3] [--batch 32] [--width 1] [--fc-units 4096] [--input 227]
//        [--base <bvlc-alexnet.npy|studio model dir>] [--backend wasm] [--lr 1e-3]
// Defaults are the real sizes (AlexNet 227 px, width 1, 4096 units; compact 32 px). Timings on a machine
// shared with other work are indicative only.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { BackendName, Strategy, TrainConfig } from '../src/shared/training'
import type { Example } from '../src/main/ml/data/types'
import { initBackend, describeBackend } from '../src/main/ml/tfjs/backend'
import { defaultPreprocessing } from '../src/main/ml/data/preprocess'
import { train } from '../src/main/ml/train/trainer'
import { classifyExamples, TfjsClassifier } from '../src/main/ml/evaluate/classifier'
import { argmaxRow } from '../src/main/ml/evaluate/metrics'
import { arg } from './lib/args'

const DATA = process.env.TS_SHARED_DATA ?? resolve(__dirname, '../../shared/data')

function examples(split: string, classIds: number[], perClass: number): Example[] {
  return classIds.flatMap((c, label) =>
    readdirSync(join(DATA, split, String(c)))
      .sort()
      .slice(0, perClass)
      .map((f) => ({ imageId: null, path: join(DATA, split, String(c), f), hash: '', label, roi: null }))
  )
}

async function main(): Promise<void> {
  const strategy = arg('strategy', 'custom') as Strategy
  const numClasses = Number(arg('classes', '10'))
  const perClass = Number(arg('per-class', '150'))
  const custom = strategy === 'custom'
  const inputSize = Number(arg('input', custom ? '32' : '227'))
  const basePath = arg('base', '')
  const info = await initBackend({
    prefer: (arg('backend', '') || undefined) as BackendName | undefined,
    logger: () => {}
  })
  const classIds = Array.from({ length: numClasses }, (_, i) => i)
  const all = examples('gtsrb-train', classIds, perClass)
  // Every fifth track to validation, so val images are not near-duplicates of training ones.
  const track = (e: Example): number => Number(e.path.split('/').pop()!.split('_')[0])
  const config: TrainConfig = {
    strategy,
    base: basePath
      ? basePath.endsWith('.npy')
        ? { kind: 'bvlc-npy', path: basePath }
        : { kind: 'studio-model', path: basePath }
      : { kind: 'none' },
    model: {
      architecture: custom ? 'compact' : 'alexnet',
      width: Number(arg('width', '1')),
      fcUnits: Number(arg('fc-units', custom ? '256' : '4096'))
    },
    preprocessing: {
      ...defaultPreprocessing(custom ? 'compact' : 'alexnet', { inputSize }),
      ...(strategy === 'retrain' ? { scale: 1 / 64 } : {})
    },
    epochs: Number(arg('epochs', '3')),
    batchSize: Number(arg('batch', '32')),
    optimizer: 'adam',
    learningRate: Number(arg('lr', '1e-3')),
    pretrainedRateFactor: 0.1,
    earlyStoppingPatience: 0,
    augmentation: {
      enabled: false,
      shift: 0,
      rotationDeg: 0,
      scale: 0,
      brightness: 0,
      contrast: 0,
      horizontalFlip: false
    },
    classBalanced: false,
    seed: 1
  }
  const runDir = mkdtempSync(join(tmpdir(), 'ts-bench-train-'))
  let ips = 0
  let batches = 0
  let featureStart = 0
  let featureSeconds = 0
  try {
    const result = await train(
      config,
      {
        train: all.filter((e) => track(e) % 5 !== 4),
        val: all.filter((e) => track(e) % 5 === 4),
        classes: classIds.map((c, index) => ({ index, classId: c, key: String(c), name: String(c) }))
      },
      {
        runDir,
        // Data-parallel on wasm, as the app trains: the gradient worker's source, run with jiti.
        gradWorker: {
          file: resolve(__dirname, '../src/main/ml/train/gradWorker.ts'),
          execArgv: ['--import', 'jiti/register']
        },
        onEvent: (e) => {
          if (e.type === 'batch') {
            ips += e.imagesPerSecond
            batches++
          } else if (e.type === 'phase' && e.phase === 'features') {
            if (e.done === 0) featureStart = Date.now()
            featureSeconds = (Date.now() - featureStart) / 1000
          } else if (e.type === 'epoch')
            process.stderr.write(`epoch ${e.epoch}: ${e.seconds.toFixed(1)} s, val ${e.valAccuracy}\n`)
        }
      }
    )
    const test = examples('gtsrb-test', classIds, 30)
    const model = result.built!.model
    const n = model.outputs[0].shape[1] as number
    const r = await classifyExamples(new TfjsClassifier(model, result.built!.preprocessing, false), test)
    const correct = r.examples.filter((e, i) => argmaxRow(r.probabilities, i, n) === e.label).length
    console.log(
      JSON.stringify({
        strategy,
        backend: describeBackend(info),
        classes: numClasses,
        trainImages: result.history.length ? all.filter((e) => track(e) % 5 !== 4).length : 0,
        inputSize,
        width: config.model.width,
        fcUnits: config.model.fcUnits,
        epochs: result.epochsDone,
        imagesPerSecond: batches ? +(ips / batches).toFixed(1) : null,
        secondsPerEpoch: +(
          result.history.reduce((a, h) => a + h.seconds, 0) / Math.max(1, result.history.length)
        ).toFixed(2),
        featureSeconds: strategy === 'feature-extraction' ? +featureSeconds.toFixed(2) : null,
        valAccuracy: result.valAccuracy,
        testAccuracy: +(correct / test.length).toFixed(4),
        seconds: +result.seconds.toFixed(1)
      })
    )
    result.built!.dispose()
  } finally {
    rmSync(runDir, { recursive: true, force: true })
  }
}

void main()
