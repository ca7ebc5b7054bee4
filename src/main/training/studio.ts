// StudioService: the studio flow around training that is not the engine itself — checking a base model on
// the spot, estimating a run's duration from measured costs, predicting with a trained run (its classifier
// cached per run), and previewing an export folder. TF.js-backed modules are imported lazily so the main
// process loads them only when a prediction or a base check needs them. No Electron here.
import {
  accessSync,
  constants,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync
} from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import type {
  BackendName,
  BaseModel,
  ModelMetadata,
  ModelSpec,
  Prediction,
  TrainConfig,
  TrainingEvent
} from '../../shared/training'
import type { LoadedClassifier } from '../ml/evaluate/classifier'
import type { ProjectService } from '../project/projectService'
import type { TrainingService } from './trainingService'
import type { RunRecord } from '../db/runsRepo'
import { ValidationError } from '../backend/validate'

/** Result of `training:validateBase`. */
export interface BaseCheck {
  ok: boolean
  message: string
  layers?: string[]
}

/** What a prediction file is: a path on this machine, or bytes from a browser drop. */
export type PredictFile = { path: string } | { name: string; dataBase64: string }

/**
 * Multiply-accumulates per second assumed per backend before any run has been measured in this project.
 * wasm: measured (about 1 G/s) by the compact-CNN run of test/main/studio.integration.test.ts on the shared
 * 2-core development machine; the others are not measured here and are scaled by an order of magnitude per
 * step (pure-JS cpu slower, native tfjs-node and CUDA faster). The estimate's basis says they are assumed.
 */
const ASSUMED_MACS_PER_SECOND: Record<BackendName, number> = {
  'tfjs-node-gpu': 1e11,
  'tfjs-node': 1e10,
  wasm: 1e9,
  cpu: 1e8
}

/** Files of an export folder, with what each is for (the order `exportRun` writes them, sorted). */
const EXPORT_FILE_DESCRIPTIONS: Record<string, string> = {
  'metadata.json': 'Labels (output index to class), preprocessing, strategy and metrics.',
  'model.json': 'TF.js layers model: topology and the weights manifest.',
  'model.onnx': 'The same network as ONNX (NHWC float32 input), for onnxruntime and other tools.',
  'labels.txt': 'One class name per line, in output order.',
  'README.md': 'How to feed an image to the model and read its output.'
}

function describeExportFile(name: string): string {
  if (EXPORT_FILE_DESCRIPTIONS[name]) return EXPORT_FILE_DESCRIPTIONS[name]
  if (name.endsWith('.bin')) return 'TF.js weights shard (binary float32), referenced by model.json.'
  return 'Part of the trained model folder.'
}

/** Multiply-accumulates of one forward pass, split into the frozen base and the trained head. */
export interface ModelCost {
  /** Whole network, per image. */
  forward: number
  /** Up to fc7 (what feature extraction runs once per image). */
  base: number
  /** fc8 only (what feature extraction trains). */
  head: number
}

/** Multiply-accumulates per image of the model a config builds (conv and dense layers; the rest is small). */
export async function modelCost(model: ModelSpec, inputSize: number, numClasses: number): Promise<ModelCost> {
  if (model.architecture === 'alexnet') {
    const { alexnetWeightShapes, spatialSizes } = await import('../ml/models/alexnet')
    const shapes = alexnetWeightShapes({
      numClasses,
      inputSize,
      width: model.width ?? 1,
      fcUnits: model.fcUnits ?? 4096
    })
    const s = spatialSizes(inputSize)
    const prod = (a: number[]): number => a.reduce((x, y) => x * y, 1)
    const conv =
      s.conv1 ** 2 * prod(shapes.conv1[0]) +
      s.pool1 ** 2 * prod(shapes.conv2[0]) +
      s.pool2 ** 2 * (prod(shapes.conv3[0]) + prod(shapes.conv4[0]) + prod(shapes.conv5[0]))
    const base = conv + prod(shapes.fc6[0]) + prod(shapes.fc7[0])
    const head = prod(shapes.fc8[0])
    return { forward: base + head, base, head }
  }
  // The compact CNN as strategies.ts builds it: two 3x3 convs per block, pool, then dense layers.
  const channels = Math.max(2, Math.round(32 * (model.width ?? 1)))
  const dense = model.fcUnits ?? 256
  const depth = Math.min(5, Math.max(1, Math.floor(Math.log2(inputSize / 4))))
  let macs = 0
  let cin = 3
  for (let b = 1; b <= depth; b++) {
    const side = inputSize >> (b - 1)
    const f = channels * 2 ** (b - 1)
    macs += side * side * 9 * (cin * f + f * f)
    cin = f
  }
  const side = inputSize >> depth
  const flat = side * side * cin <= 4096 ? side * side * cin : cin
  const head = flat * dense + dense * numClasses
  return { forward: macs + head, base: macs, head }
}

/** Training work of a run in multiply-accumulates: backward ~ 2x forward, validation forward only. */
export function runWork(
  config: TrainConfig,
  cost: ModelCost,
  counts: { train: number; val: number }
): number {
  if (config.strategy === 'feature-extraction') {
    // The frozen base runs once per image (features are cached); only the head trains per epoch.
    return cost.base * (counts.train + counts.val) + config.epochs * 3 * cost.head * counts.train
  }
  return config.epochs * (3 * cost.forward * counts.train + cost.forward * counts.val)
}

export class StudioService {
  /** Classifiers loaded for prediction, per project file and run. */
  private readonly classifiers = new Map<string, Promise<LoadedClassifier>>()
  /** The last backend a worker reported, and the image counts each run of this process started with. */
  private lastBackend: BackendName | null = null
  private readonly runCounts = new Map<string, { train: number; val: number }>()

  constructor(
    private readonly projects: ProjectService,
    private readonly training: TrainingService
  ) {
    training.onEvent((e) => this.observe(e))
  }

  private observe(e: TrainingEvent): void {
    if (e.type !== 'started') return
    this.lastBackend = e.backend
    const path = this.projects.current()?.path
    if (path) this.runCounts.set(`${path}#${e.runId}`, { train: e.trainImages, val: e.valImages })
  }

  /** The TF.js backend of the last run (this process's worker, else the newest recorded run), or null. */
  backend(): BackendName | null {
    if (this.lastBackend) return this.lastBackend
    if (!this.projects.current()) return null
    return this.training.list().find((r) => r.backend)?.backend ?? null
  }

  // ---- base model check ----

  async validateBase(base: BaseModel): Promise<BaseCheck> {
    if (base.kind === 'none') {
      return { ok: true, message: 'No base model: the network starts from random weights.' }
    }
    const path = resolve(base.path)
    if (!existsSync(path)) return { ok: false, message: `Nothing found at ${path}.` }
    try {
      return base.kind === 'bvlc-npy' ? await this.checkBvlc(path) : this.checkStudioModel(path)
    } catch (err) {
      // Never throws for a bad file: the message says what is wrong with it.
      return { ok: false, message: `${basename(path)} cannot be used: ${(err as Error).message}` }
    }
  }

  private async checkBvlc(path: string): Promise<BaseCheck> {
    if (statSync(path).isDirectory()) {
      return { ok: false, message: `${path} is a folder; choose a bvlc-alexnet.npy file.` }
    }
    const { readBvlcWeights, checkBvlcShapes, ALEXNET_BVLC_SHAPES } = await import('../ml/weights/bvlc')
    const weights = await readBvlcWeights(path)
    const layers = Object.keys(weights)
    try {
      checkBvlcShapes(weights, ALEXNET_BVLC_SHAPES)
      return {
        ok: true,
        layers,
        message: 'The full BVLC AlexNet weights (conv1-conv5, fc6-fc8 with 4096 units), for 227 px input.'
      }
    } catch (fullError) {
      // A reduced AlexNet (the width multiplier and fc units the engine allows) fits when its conv layers do.
      const conv1 = weights.conv1?.W.shape
      const fc7 = weights.fc7?.b.shape
      if (!conv1 || conv1.length !== 4) throw fullError
      const width = conv1[3] / 96
      const fcUnits = fc7?.[0] ?? 4096
      const { alexnetWeightShapes } = await import('../ml/models/alexnet')
      const want = alexnetWeightShapes({ numClasses: 2, width, fcUnits })
      const convs = ['conv1', 'conv2', 'conv3', 'conv4', 'conv5'] as const
      const expected = Object.fromEntries(convs.map((n) => [n, { W: want[n][0], b: want[n][1] }]))
      const extra = layers.filter((n) => !(convs as readonly string[]).includes(n))
      try {
        checkBvlcShapes(weights, expected, { skip: extra })
      } catch {
        throw fullError
      }
      const fcs = ['fc6', 'fc7', 'fc8'].filter((n) => layers.includes(n))
      const fcText = fcs.length ? `${fcs.join('/')} of ${fcUnits} units` : 'no fc layers'
      const message =
        width === 1
          ? `Full-width AlexNet conv layers with ${fcText}, not the complete BVLC file; conv1-conv5 can be used.`
          : `A reduced AlexNet (width ${+width.toFixed(4)}: conv1 has ${conv1[3]} filters, ${fcText}), ` +
            `not the full BVLC weights; set the model's width to match.`
      return { ok: true, layers, message }
    }
  }

  private checkStudioModel(path: string): BaseCheck {
    if (!statSync(path).isDirectory()) {
      return { ok: false, message: `${path} is a file; choose the folder that holds model.json.` }
    }
    if (!existsSync(join(path, 'model.json'))) {
      return { ok: false, message: `${path} has no model.json, so it is not a Transfer Studio model folder.` }
    }
    const model = JSON.parse(readFileSync(join(path, 'model.json'), 'utf8')) as {
      modelTopology?: { config?: { layers?: { name?: string; config?: { name?: string } }[] } }
    }
    const layers = (model.modelTopology?.config?.layers ?? [])
      .map((l) => l.config?.name ?? l.name)
      .filter((n): n is string => typeof n === 'string')
    if (!existsSync(join(path, 'metadata.json'))) {
      return { ok: true, layers, message: `A TF.js model with ${layers.length} layers but no metadata.json.` }
    }
    const meta = JSON.parse(readFileSync(join(path, 'metadata.json'), 'utf8')) as ModelMetadata
    if (meta.format !== 'transfer-studio-model' || !Array.isArray(meta.labels)) {
      return { ok: false, message: `${path}/metadata.json is not a Transfer Studio model description.` }
    }
    const arch = meta.model?.architecture === 'alexnet' ? 'AlexNet' : 'compact CNN'
    const width =
      meta.model?.width !== undefined && meta.model.width !== 1 ? ` (width ${meta.model.width})` : ''
    return {
      ok: true,
      layers: [`${meta.model?.architecture ?? 'unknown'}`, ...layers],
      message:
        `A Transfer Studio ${arch}${width} trained with ${meta.strategy} on ${meta.labels.length} classes, ` +
        `${meta.preprocessing?.inputSize ?? '?'} px input.`
    }
  }

  // ---- duration estimate ----

  /** Seconds a run with `config` would take here, from the last measured run of this project or the table. */
  async estimate(config: TrainConfig): Promise<{ seconds: number; trainImages: number; basis: string }> {
    const open = this.projects.require()
    const train = open.repo.trainingImages({ split: 'train' }).filter((i) => i.classId !== null)
    const val = open.repo.trainingImages({ split: 'val' }).filter((i) => i.classId !== null)
    const numClasses = Math.max(2, new Set(train.map((i) => i.classId)).size)
    const counts = { train: train.length, val: val.length }
    const work = runWork(
      config,
      await modelCost(config.model, config.preprocessing.inputSize, numClasses),
      counts
    )

    let rate: number | null = null
    let basis = ''
    const measured = this.training
      .list()
      .find((r) => r.status === 'completed' && r.seconds && r.seconds > 0 && r.epochsDone > 0) as
      RunRecord | undefined
    if (measured) {
      const c = this.runCounts.get(`${open.info.path}#${measured.id}`) ?? counts
      const cfg = { ...measured.config, epochs: measured.epochsDone }
      const mCost = await modelCost(cfg.model, cfg.preprocessing.inputSize, numClasses)
      rate = runWork(cfg, mCost, c) / (measured.seconds as number)
      basis =
        `Measured on run ${measured.id} (${measured.backend ?? 'unknown backend'}): ` +
        `${(rate / 1e9).toFixed(2)} G multiply-adds/s, times this config's ${(work / 1e9).toFixed(1)} G ` +
        `for ${counts.train} training images x ${config.epochs} epochs.`
    }
    if (!rate || !Number.isFinite(rate)) {
      const backend = this.backend() ?? 'wasm'
      rate = ASSUMED_MACS_PER_SECOND[backend]
      basis =
        `No run measured in this project yet: assumes ${(rate / 1e9).toFixed(1)} G multiply-adds/s on ` +
        `${backend}, times this config's ${(work / 1e9).toFixed(1)} G for ${counts.train} training images ` +
        `x ${config.epochs} epochs.`
    }
    // Tenths of a second: tiny test runs take under a second, and the estimate must still scale with them.
    return { seconds: Math.max(0.1, Math.round((work / rate) * 10) / 10), trainImages: counts.train, basis }
  }

  // ---- prediction ----

  private exportDirOf(run: RunRecord): string {
    const dir = run.runDir ? join(run.runDir, 'model') : null
    if (run.status !== 'completed' || !dir || !existsSync(join(dir, 'metadata.json'))) {
      throw new ValidationError(`run ${run.id} has no trained model (status: ${run.status})`)
    }
    return dir
  }

  private classifier(runId: number): Promise<LoadedClassifier> {
    const run = this.training.get(runId)
    const key = `${this.projects.require().info.path}#${runId}`
    let loaded = this.classifiers.get(key)
    if (!loaded) {
      const dir = this.exportDirOf(run)
      loaded = import('../ml/evaluate/classifier').then((m) => m.loadClassifier(dir, { logger: () => {} }))
      // A failed load is not cached: the next call tries again.
      loaded.catch(() => this.classifiers.delete(key))
      this.classifiers.set(key, loaded)
    }
    return loaded
  }

  /** Top-k per file, in the order given; a file that cannot be read gets an entry with `error`. */
  async predict(runId: number, files: PredictFile[], top: number): Promise<Prediction[]> {
    const loaded = await this.classifier(runId)
    const { predictFiles } = await import('../ml/evaluate/classifier')
    const tmp = mkdtempSync(join(tmpdir(), 'ts-predict-'))
    try {
      // Dropped bytes go to a temporary file each, so paths and bytes share one decode path.
      const paths = await Promise.all(
        files.map(async (f, i) => {
          if ('path' in f) return resolve(f.path)
          const p = join(tmp, `${i}-${basename(f.name).replace(/[^\w.-]/g, '_') || 'image'}`)
          await writeFile(p, Buffer.from(f.dataBase64, 'base64'))
          return p
        })
      )
      const out = await predictFiles(loaded, paths, { k: Math.min(top, loaded.labels.length) })
      const byPath = new Map(out.predictions.map((p) => [p.path, p]))
      const failed = new Map(out.failed.map((f) => [f.path, f.reason]))
      return files.map((f, i) => {
        const shown = 'path' in f ? f.path : f.name
        const p = byPath.get(paths[i])
        if (p) return { path: shown, top: p.top }
        const reason = failed.get(paths[i]) ?? 'the image could not be read'
        return { path: shown, top: [], error: reason.replaceAll(tmp + '/', '') }
      })
    } finally {
      rmSync(tmp, { recursive: true, force: true })
    }
  }

  // ---- export preview ----

  exportPreview(
    runId: number,
    outDir: string
  ): { files: { name: string; description: string }[]; problem: string | null } {
    const run = this.training.get(runId)
    const source = this.exportDirOf(run)
    const names = new Set(readdirSync(source))
    names.add('README.md')
    const files = [...names].sort().map((name) => ({ name, description: describeExportFile(name) }))
    return { files, problem: exportProblem(resolve(outDir)) }
  }

  /** Forgets cached classifiers (their native sessions are released). */
  async dispose(): Promise<void> {
    const all = [...this.classifiers.values()]
    this.classifiers.clear()
    await Promise.all(all.map((p) => p.then((l) => l.classifier.dispose()).catch(() => {})))
  }
}

/** Why `dir` cannot take an export (it must be an empty folder, or creatable), or null when it can. */
export function exportProblem(dir: string): string | null {
  const writable = (p: string): boolean => {
    try {
      accessSync(p, constants.W_OK)
      return true
    } catch {
      return false
    }
  }
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) return `${dir} is a file; choose a new or empty folder.`
    if (readdirSync(dir).length > 0) return `${dir} is not empty; choose a new or empty folder.`
    // The export is written beside the target and renamed into place, so the parent must be writable too.
    if (!writable(dir) || !writable(dirname(dir))) return `No permission to write in ${dir}.`
    return null
  }
  let parent = dirname(dir)
  while (!existsSync(parent) && dirname(parent) !== parent) parent = dirname(parent)
  if (!existsSync(parent)) return `No folder exists above ${dir}.`
  if (!statSync(parent).isDirectory()) return `${parent} is a file, so no folder can be created inside it.`
  if (!writable(parent)) return `No permission to create ${dir} (${parent} is not writable).`
  return null
}
