// Shared fixtures of the engine tests: real GTSRB examples (train split by track into train/val, the
// track-disjoint gtsrb-test folder as test), and small TrainConfigs that run in seconds on a CPU.
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type * as tf from '@tensorflow/tfjs'
import type { Preprocessing, TrainConfig } from '../../../../src/shared/training'
import { classifyExamples, TfjsClassifier } from '../../../../src/main/ml/evaluate/classifier'
import { argmaxRow } from '../../../../src/main/ml/evaluate/metrics'
import type { Example } from '../../../../src/main/ml/data/types'
import type { ClassLabel } from '../../../../src/main/ml/data/types'
import type { TrainData } from '../../../../src/main/ml/train/trainer'
import { defaultPreprocessing } from '../../../../src/main/ml/data/preprocess'
import { SHARED_DATA } from '../../../helpers'

const hashCache = new Map<string, string>()

export function fileSha1(path: string): string {
  let h = hashCache.get(path)
  if (!h) {
    h = createHash('sha1').update(readFileSync(path)).digest('hex')
    hashCache.set(path, h)
  }
  return h
}

/** Examples of `classIds` (GTSRB ClassId folders) in `split`, labelled by position in `classIds`. */
export function gtsrbExamples(
  split: 'gtsrb-train' | 'gtsrb-test',
  classIds: number[],
  perClass = Infinity
): Example[] {
  const out: Example[] = []
  classIds.forEach((cid, label) => {
    const dir = join(SHARED_DATA, split, String(cid))
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.ppm'))
      .sort()
      .slice(0, perClass)
    for (const f of files) {
      const path = join(dir, f)
      out.push({ imageId: null, path, hash: fileSha1(path), label, roi: null })
    }
  })
  return out
}

/** Train/val from gtsrb-train (the first `perClass` files of each class), split by track (file name prefix) so val is not near-duplicates of train. */
export function gtsrbTrainData(
  classIds: number[],
  opts: { perClass?: number; valFraction?: number } = {}
): TrainData {
  const all = gtsrbExamples('gtsrb-train', classIds, opts.perClass)
  const train: Example[] = []
  const val: Example[] = []
  const valFraction = opts.valFraction ?? 0.2
  for (let label = 0; label < classIds.length; label++) {
    const ofClass = all.filter((e) => e.label === label)
    const tracks = [...new Set(ofClass.map((e) => e.path.split('/').pop()!.split('_')[0]))].sort()
    const held = new Set(tracks.slice(tracks.length - Math.max(1, Math.round(tracks.length * valFraction))))
    for (const e of ofClass) (held.has(e.path.split('/').pop()!.split('_')[0]) ? val : train).push(e)
  }
  return { train, val, classes: classLabels(classIds) }
}

export function classLabels(classIds: number[]): ClassLabel[] {
  const names = new Map(
    readFileSync(join(SHARED_DATA, 'signnames.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => [Number(l.split(',')[0]), l.slice(l.indexOf(',') + 1)] as const)
  )
  return classIds.map((cid, index) => ({
    index,
    classId: cid,
    key: String(cid),
    name: names.get(cid) ?? String(cid)
  }))
}

/** Five visually distinct signs. */
export const FIVE = [1, 13, 14, 17, 38]

// No dropout: these short runs check the engine's plumbing and learning, not regularisation, and learn
// faster without it.
export function baseConfig(over: Partial<TrainConfig> = {}): TrainConfig {
  return {
    strategy: 'custom',
    base: { kind: 'none' },
    model: { architecture: 'compact', width: 0.25, fcUnits: 64, dropout: 0, batchNorm: false },
    preprocessing: defaultPreprocessing('compact'),
    epochs: 2,
    batchSize: 32,
    optimizer: 'adam',
    learningRate: 1e-3,
    pretrainedRateFactor: 1,
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
    seed: 7,
    ...over
  }
}

/** A reduced AlexNet (67 px input, quarter width, 128-unit fc layers) for CPU tests. */
export function smallAlexConfig(over: Partial<TrainConfig> = {}): TrainConfig {
  return baseConfig({
    strategy: 'retrain',
    model: { architecture: 'alexnet', width: 0.25, fcUnits: 128, dropout: 0.3 },
    preprocessing: { ...defaultPreprocessing('alexnet', { inputSize: 67 }), scale: 1 / 64 },
    ...over
  })
}

/** A bvlc-alexnet.npy-format file for a reduced AlexNet (see test/fixtures/alexnet-bvlc/make.py). */
export const NPY = resolve(__dirname, '../../../fixtures/alexnet-bvlc/reduced-alexnet.npy')

/** The reduced AlexNet the NPY fixture fits: 67 px, width 1/16, 16-unit fc layers, BVLC preprocessing. */
export function bvlcConfig(over: Partial<TrainConfig> = {}): TrainConfig {
  return baseConfig({
    strategy: 'fine-tune',
    base: { kind: 'bvlc-npy', path: NPY },
    model: { architecture: 'alexnet', width: 1 / 16, fcUnits: 16, dropout: 0 },
    preprocessing: defaultPreprocessing('alexnet', { inputSize: 67 }),
    ...over
  })
}

/** Share of `examples` the model classifies right (unreadable images count as wrong); the model stays the caller's. */
export async function accuracyOn(
  model: tf.LayersModel,
  prep: Preprocessing,
  examples: Example[]
): Promise<number> {
  const r = await classifyExamples(new TfjsClassifier(model, prep, false), examples)
  const n = model.outputs[0].shape[1] as number
  let correct = 0
  r.examples.forEach((e, i) => {
    if (argmaxRow(r.probabilities, i, n) === e.label) correct++
  })
  return correct / examples.length
}
