// Checking a base model on the spot (`training:validateBase`): a BVLC weights file by its header and pickle
// structure (a few positioned reads, never the 244 MB of floats), a PyTorch `.pth` file by its pickle's
// tensor names and shapes against the torchvision architecture, an ONNX model by its graph's input and
// feature output, a studio model folder by its model.json and metadata.json (read asynchronously, with a
// size cap), a run of this project by its model folder, or a hub model by its file in the cache. With the
// strategy, a base that does not fit it (an ONNX model to fine-tune) is refused here rather than at start.
// It runs on the backend's event loop, so nothing here parses weights or loads TF.js. Its messages say what
// was expected and what was found in general terms, never the bytes of the file it was pointed at.
import { stat } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import type { BaseModel, ModelMetadata, Strategy, TorchvisionArch } from '../../shared/training'
import {
  ALEXNET_BVLC_SHAPES,
  alexnetWeightShapes,
  checkBvlcShapes,
  checkStateDictShapes,
  inspectOnnxModel,
  readBvlcLayout,
  readPthStructure
} from '../ml'
import { baseOfEntry, type ModelHub } from '../hub'
import type { TrainingService } from './trainingService'
import { trainedModelDir } from './runModel'
import { formatMessage, type MessageKey } from '../../shared/messages'
import { toUserError } from '../errors/userError'
import { MAX_JSON_BYTES, readJsonBounded } from '../fs/safeFile'

/** Result of `training:validateBase`. */
export interface BaseCheck {
  ok: boolean
  /** In English; `code`/`params` say it from the catalogue (src/shared/messages) for the UI's language. */
  message: string
  code?: string
  params?: Record<string, string | number>
  layers?: string[]
}

/** A check's answer worded from the catalogue. */
function said<K extends MessageKey>(
  ok: boolean,
  key: K,
  params: Record<string, string | number> = {}
): BaseCheck {
  return { ok, message: formatMessage(key, params), code: key, params }
}

/** A base chosen by run id (the contract's `{ kind: 'run' }`), accepted before and after it joins BaseModel. */
type RunBase = { kind: 'run'; runId: number }

export class BaseCheckService {
  constructor(
    private readonly training: TrainingService,
    private readonly hub?: Pick<ModelHub, 'list'>
  ) {}

  /** Never throws for a bad file: the message says what is wrong with it. */
  async validateBase(base: BaseModel | RunBase, strategy?: Strategy): Promise<BaseCheck> {
    if (base.kind === 'none') {
      return said(true, 'base.none')
    }
    if (base.kind === 'hub') return this.checkHub(base.id, strategy)
    if (base.kind === 'onnx' && strategy === 'fine-tune') {
      return said(false, 'base.onnxFineTune')
    }
    if (base.kind === 'run') {
      const run = this.training.get(base.runId)
      if (run.status !== 'completed') {
        return said(false, 'base.runNotCompleted', { id: run.id, status: run.status })
      }
      let dir: string
      try {
        dir = await trainedModelDir(run)
      } catch (err) {
        const e = toUserError(err)
        return { ok: false, message: e.message, code: e.code, params: e.params }
      }
      return this.guard(dir, () => checkStudioModel(dir))
    }
    const path = resolve(base.path)
    return this.guard(path, () => {
      switch (base.kind) {
        case 'bvlc-npy':
          return checkBvlc(path)
        case 'torchvision-pth':
          return checkPth(path, base.architecture)
        case 'onnx':
          return checkOnnx(path, base.output)
        default:
          return checkStudioModel(path)
      }
    })
  }

  private async checkHub(id: string, strategy?: Strategy): Promise<BaseCheck> {
    if (!this.hub) return said(false, 'base.noHub')
    const model = (await this.hub.list()).find((m) => m.id === id)
    if (!model) return said(false, 'base.notInCatalogue', { id })
    if (!model.downloaded) {
      return said(false, 'base.notDownloaded', { name: model.name, mb: (model.bytes / 1e6).toFixed(0) })
    }
    const check = await this.validateBase(baseOfEntry(model, model.path), strategy)
    if (!check.ok) return check
    // The hub model's name before what the check found, both in the UI's language (`reason` is coded).
    const reason = {
      reason: check.message,
      reasonCode: check.code ?? '',
      reasonParams: JSON.stringify(check.params ?? {})
    }
    return { ...check, ...said(true, 'base.fromHub', { name: model.name, ...reason }) }
  }

  private async guard(path: string, check: () => Promise<BaseCheck>): Promise<BaseCheck> {
    const st = await stat(path).catch(() => null)
    if (!st) return said(false, 'base.nothingAt', { path })
    try {
      return await check()
    } catch (err) {
      // The format's own detail stays as its reader words it; the sentence around it is translated.
      return said(false, 'base.unusable', { name: basename(path), detail: toUserError(err).message })
    }
  }
}

async function checkBvlc(path: string): Promise<BaseCheck> {
  if ((await stat(path)).isDirectory()) {
    return said(false, 'base.folderNpy', { path })
  }
  const weights = await readBvlcLayout(path)
  const layers = Object.keys(weights)
  try {
    checkBvlcShapes(weights, ALEXNET_BVLC_SHAPES)
    return { ...said(true, 'base.bvlcFull'), layers }
  } catch (fullError) {
    // A reduced AlexNet (the width multiplier and fc units the engine allows) fits when its conv layers do.
    const conv1 = weights.conv1?.W.shape
    const fc7 = weights.fc7?.b.shape
    if (!conv1 || conv1.length !== 4) throw fullError
    const width = conv1[3] / 96
    const fcUnits = fc7?.[0] ?? 4096
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
    const fc = { fcLayers: fcs.join('/'), units: fcUnits }
    const reduced = { width: +width.toFixed(4), filters: conv1[3] }
    const answer =
      width === 1
        ? fcs.length
          ? said(true, 'base.bvlcFullWidthConvs', fc)
          : said(true, 'base.bvlcFullWidthConvsOnly')
        : fcs.length
          ? said(true, 'base.bvlcReduced', { ...reduced, ...fc })
          : said(true, 'base.bvlcReducedConvsOnly', reduced)
    return { ...answer, layers }
  }
}

async function checkPth(path: string, architecture: TorchvisionArch): Promise<BaseCheck> {
  if ((await stat(path)).isDirectory()) {
    return said(false, 'base.folderPth', { path })
  }
  const structure = await readPthStructure(path)
  const shapes = new Map([...structure.tensors].map(([name, t]) => [name, t.shape] as const))
  const classes = checkStateDictShapes(architecture, shapes)
  const params = { arch: architecture, tensors: shapes.size, format: structure.format, classes }
  return { ...said(true, 'base.pth', params), layers: [...shapes.keys()] }
}

async function checkOnnx(path: string, output?: string): Promise<BaseCheck> {
  if ((await stat(path)).isDirectory()) {
    return said(false, 'base.folderOnnx', { path })
  }
  const info = await inspectOnnxModel(path)
  const feature = output ?? info.featureOutput
  if (!feature) {
    return {
      ...said(false, 'base.noFeatureOutput', { outputs: info.outputs.join(', ') }),
      layers: info.outputs
    }
  }
  if (output && !info.outputs.includes(output) && output !== info.featureOutput) {
    return { ...said(false, 'base.noOutput', { output }), layers: info.outputs }
  }
  const params = { input: info.input.name, layout: info.input.layout, size: info.input.size, feature }
  const answer = info.featureDim
    ? said(true, 'base.onnx', { ...params, dim: info.featureDim })
    : said(true, 'base.onnxNoDim', params)
  return { ...answer, layers: info.outputs }
}

/** A JSON file of a model folder: regular files only, at most MAX_JSON_BYTES (fs/safeFile); null when absent. */
async function readJson(path: string): Promise<unknown> {
  const st = await stat(path).catch(() => null)
  if (!st) return null
  return readJsonBounded(path, MAX_JSON_BYTES, `${basename(path)} file`)
}

async function checkStudioModel(path: string): Promise<BaseCheck> {
  if (!(await stat(path)).isDirectory()) {
    return said(false, 'base.studioIsFile', { path })
  }
  const model = (await readJson(join(path, 'model.json'))) as {
    modelTopology?: { config?: { layers?: { name?: string; config?: { name?: string } }[] } }
  } | null
  if (model === null) {
    return said(false, 'base.studioNoModel', { path })
  }
  const layers = (model.modelTopology?.config?.layers ?? [])
    .map((l) => l.config?.name ?? l.name)
    .filter((n): n is string => typeof n === 'string')
  const meta = (await readJson(join(path, 'metadata.json'))) as ModelMetadata | null
  if (meta === null) {
    return { ...said(true, 'base.studioNoMetadata', { layers: layers.length }), layers }
  }
  if (meta.format !== 'transfer-studio-model' || !Array.isArray(meta.labels)) {
    return said(false, 'base.studioNotOurs', { path })
  }
  const what = {
    strategy: meta.strategy,
    classes: meta.labels.length,
    size: meta.preprocessing?.inputSize ?? '?'
  }
  const alexnet = { ...what, width: meta.model?.width ?? 1 }
  // Fine-tuning and feature extraction cut the base at fc7 (models/strategies.ts loadBase): refuse any other
  // model here, in the base step, rather than when the run starts.
  const named = [`${meta.model?.architecture ?? 'unknown'}`, ...layers]
  if (meta.model?.architecture !== 'alexnet')
    return { ...said(false, 'base.studioCompact', what), layers: named }
  if (!layers.includes('fc7')) return { ...said(false, 'base.studioNoFc7', alexnet), layers: named }
  return { ...said(true, 'base.studioAlexnet', alexnet), layers: named }
}
