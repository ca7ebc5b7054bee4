// The export folder: everything needed to use a trained model outside Transfer Studio.
//
//   model.json + weights.bin   TF.js layers model (tf.loadLayersModel)
//   model.onnx                 the same network for onnxruntime (NHWC float32 input, probabilities out)
//   labels.json                output index -> class id, key and name
//   metadata.json              ModelMetadata: strategy, base, architecture, preprocessing, metrics
//   README.md                  how to load it in TF.js and onnxruntime, input shape and preprocessing
//
// A head trained on an ONNX base's features (strategy 3 with an .onnx file) has no TF.js network to save:
// its folder holds base.onnx (a copy of the user's model) and head.onnx (features -> probabilities) in place
// of model.json and model.onnx, and metadata.json's `frozenBase` says how they connect.
//
// The folder is written beside the target under a temporary name and renamed at the end, so a crash or an
// error never leaves a half-written export behind. TF.js is imported lazily: copying an export needs none.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { copyFile, cp, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import type * as tf from '@tensorflow/tfjs'
import type { BackendName, ModelMetadata, Preprocessing, TrainConfig } from '../../../shared/training'
import { version as appVersion } from '../../../../package.json'
import type { OnnxBaseRef } from '../features/onnxExtractor'
import { messageError } from '../../errors'

export interface ExportOptions {
  /** Skip model.onnx (e.g. a layer ONNX cannot express); the README says so. */
  onnx?: boolean
  /** `model` is a head on this ONNX base's features: write base.onnx + head.onnx instead. */
  onnxBase?: OnnxBaseRef
}

export interface ExportResult {
  dir: string
  files: string[]
  /** Why model.onnx is missing, when it is. */
  onnxError: string | null
}

/** The metadata.json record of a trained model. */
export function buildMetadata(args: {
  config: TrainConfig
  preprocessing: Preprocessing
  classes: { index: number; classId: number; key: string; name: string }[]
  valAccuracy: number | null
  testAccuracy: number | null
  backend: BackendName | null
}): ModelMetadata {
  const { config } = args
  return {
    format: 'transfer-studio-model',
    formatVersion: 1,
    appVersion,
    createdAt: new Date().toISOString(),
    strategy: config.strategy,
    base: config.base,
    model: {
      ...config.model,
      architecture: config.strategy === 'custom' ? 'compact' : config.model.architecture
    },
    preprocessing: args.preprocessing,
    labels: args.classes.map((c) => ({ index: c.index, classId: c.classId, key: c.key, name: c.name })),
    metrics: { valAccuracy: args.valAccuracy, testAccuracy: args.testAccuracy },
    backend: args.backend
  }
}

/** Refuses a target that exists and is not an empty folder, with a message that says what to do. */
export function checkExportTarget(dir: string): void {
  if (!existsSync(dir)) return
  if (!statSync(dir).isDirectory()) throw messageError('export.isFile', { path: dir })
  if (readdirSync(dir).length > 0) {
    throw messageError('export.notEmpty', { path: dir })
  }
}

/** An accuracy (0..1) for people: `84.07 %`; `n/a` when not measured. */
export function percent(value: number | null | undefined): string {
  return typeof value === 'number' && Number.isFinite(value) ? `${(value * 100).toFixed(2)} %` : 'n/a'
}

/**
 * A preprocessing number for people: 6 significant digits, no trailing zeros (`123.68`, `0.00392157` for
 * 1/255, `0.840745`); metadata.json keeps the exact value.
 */
export function rounded(value: number): string {
  return Number.isFinite(value) ? String(Number(value.toPrecision(6))) : String(value)
}

function describePreprocessing(p: Preprocessing): string[] {
  const mean =
    p.meanSubtraction === 'per-image'
      ? 'subtract the mean of all pixel values of the image (one number over all channels)'
      : p.meanSubtraction === 'per-image-std'
        ? 'per channel, subtract the mean of that channel over the image and divide by its standard deviation (at least 4)'
        : p.meanSubtraction === 'dataset'
          ? `subtract the per-channel mean [${(p.mean ?? []).map(rounded).join(', ')}]` +
            (p.std
              ? ` and divide by the per-channel standard deviation [${p.std.map(rounded).join(', ')}]`
              : '') +
            ` (in ${p.channelOrder} order; the exact values are in metadata.json)`
          : 'no mean subtraction'
  return [
    `1. Decode to 8-bit RGB${p.cropToRoi ? ' and crop to the sign region (ROI) when known' : ''}.`,
    `2. Resize (bilinear) to ${p.inputSize} x ${p.inputSize}.`,
    `3. ${p.channelOrder === 'BGR' ? 'Reorder channels to BGR.' : 'Keep RGB channel order.'}`,
    `4. Convert to float32 on the 0..255 scale and ${mean}.`,
    `5. Multiply by ${rounded(p.scale)}.`,
    ...(p.cropToRoi && p.testTimeZoom
      ? [
          `6. Transfer Studio's own evaluation also predicts the region zoomed in to ${rounded(p.testTimeZoom * 100)} % of its side ` +
            `(about its centre) and averages the two probability rows; do the same to get its accuracy.`
        ]
      : [])
  ]
}

/** The README of a head on an ONNX base: two sessions, the base's features into the head. */
function frozenBaseReadme(meta: ModelMetadata): string {
  const p = meta.preprocessing
  const s = p.inputSize
  const fb = meta.frozenBase!
  const nchw = fb.layout === 'NCHW'
  return [
    `# Transfer Studio model`,
    '',
    `Strategy: feature extraction on an ONNX model; ${meta.labels.length} classes.`,
    `Validation accuracy: ${percent(meta.metrics.valAccuracy)}; test accuracy: ${percent(meta.metrics.testAccuracy)}.`,
    `Created ${meta.createdAt} by Transfer Studio ${meta.appVersion}.`,
    '',
    '## Files',
    '',
    `- \`base.onnx\`: the frozen base, a copy of the ONNX model it was trained on. Its features are the tensor \`${fb.output}\`.`,
    '- `head.onnx`: the trained head, features [batch, n] in, probabilities [batch, classes] out.',
    '- `labels.json` maps each output index to a class.',
    '',
    '## Input',
    '',
    `Preprocess each image exactly like this, into float32 [batch, ${s}, ${s}, 3] (NHWC):`,
    '',
    ...describePreprocessing(p),
    '',
    '## onnxruntime',
    '',
    '```python',
    'import numpy as np, onnxruntime as ort',
    "base = ort.InferenceSession('base.onnx')",
    "head = ort.InferenceSession('head.onnx')",
    nchw ? 'x = x.transpose(0, 3, 1, 2)  # the base takes NCHW' : '# the base takes NHWC, as prepared',
    'names = [o.name for o in base.get_outputs()]',
    `features = base.run(['${fb.output}'] if '${fb.output}' in names else None, {base.get_inputs()[0].name: x})[0]`,
    'probs = head.run(None, {head.get_inputs()[0].name: features.reshape(len(x), -1)})[0]',
    '```',
    '',
    `If \`${fb.output}\` is not one of base.onnx's outputs, add it as one (onnx.helper) before running.`,
    ''
  ].join('\n')
}

export function readmeText(meta: ModelMetadata, onnxError: string | null): string {
  if (meta.frozenBase) return frozenBaseReadme(meta)
  const p = meta.preprocessing
  const s = p.inputSize
  return [
    `# Transfer Studio model`,
    '',
    `Strategy: ${meta.strategy}; architecture: ${meta.model.architecture}; ${meta.labels.length} classes.`,
    `Validation accuracy: ${percent(meta.metrics.valAccuracy)}; test accuracy: ${percent(meta.metrics.testAccuracy)}.`,
    `Created ${meta.createdAt} by Transfer Studio ${meta.appVersion}.`,
    '',
    '## Input',
    '',
    `A float32 tensor of shape [batch, ${s}, ${s}, 3] (NHWC). Preprocess each image exactly like this:`,
    '',
    ...describePreprocessing(p),
    '',
    'The output is [batch, classes] probabilities (softmax); `labels.json` maps each output index to a class.',
    '',
    '## TF.js',
    '',
    '```js',
    "const tf = require('@tensorflow/tfjs-node')",
    "const model = await tf.loadLayersModel('file:///path/to/this/folder/model.json')",
    `const probs = model.predict(input) // input: tf.tensor4d(data, [n, ${s}, ${s}, 3])`,
    '```',
    meta.model.architecture === 'alexnet'
      ? '\nThe AlexNet uses two custom layers (LocalResponseNormalization, GroupedConv2D); register them ' +
        'before loading (Transfer Studio does this in `src/main/ml/layers/index.ts`).'
      : '',
    '',
    '## onnxruntime',
    '',
    onnxError
      ? `model.onnx was not written: ${onnxError}`
      : [
          '```python',
          'import onnxruntime as ort',
          "sess = ort.InferenceSession('model.onnx')",
          `probs = sess.run(None, {'input': x})[0]  # x: float32 array [n, ${s}, ${s}, 3]`,
          '```'
        ].join('\n'),
    ''
  ].join('\n')
}

/** Writes the export folder for `model` at `dir` (which must not exist or be empty). */
export async function exportModelFolder(
  model: tf.LayersModel,
  meta: ModelMetadata,
  dir: string,
  opts: ExportOptions = {}
): Promise<ExportResult> {
  const target = resolve(dir)
  checkExportTarget(target)
  const parent = dirname(target)
  mkdirSync(parent, { recursive: true })
  const tmp = join(parent, `.${basename(target)}.tmp-${process.pid}-${Date.now()}`)
  mkdirSync(tmp)
  try {
    // Loaded here so that copying an export (the service, the CLI) does not load TF.js.
    const { saveModel } = await import('../tfjs/ioHandlers')
    const { exportOnnx } = await import('./onnx')
    let onnxError: string | null = null
    let written = meta
    if (opts.onnxBase) {
      const ref = opts.onnxBase
      written = {
        ...meta,
        frozenBase: { file: 'base.onnx', head: 'head.onnx', output: ref.output, layout: ref.layout }
      }
      await copyFile(ref.path, join(tmp, 'base.onnx'))
      writeFileSync(join(tmp, 'head.onnx'), exportOnnx(model))
    } else {
      await saveModel(model, tmp)
      if (opts.onnx !== false) {
        try {
          writeFileSync(join(tmp, 'model.onnx'), exportOnnx(model))
        } catch (err) {
          onnxError = (err as Error).message
        }
      } else onnxError = 'ONNX export was turned off'
    }
    writeFileSync(join(tmp, 'labels.json'), JSON.stringify(written.labels, null, 2))
    writeFileSync(join(tmp, 'metadata.json'), JSON.stringify(written, null, 2))
    writeFileSync(join(tmp, 'README.md'), readmeText(written, onnxError))
    // An empty target folder is replaced; anything else was refused above.
    if (existsSync(target)) rmSync(target, { recursive: true })
    renameSync(tmp, target)
    return { dir: target, files: readdirSync(target).sort(), onnxError }
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true })
    throw err
  }
}

/**
 * Copies an existing export folder (a run's `model/`) to `dir` with the same all-or-nothing rule, updating
 * metadata.json with `patch` (e.g. the test accuracy measured after training). Needs no TF.js; every file
 * operation is asynchronous, because it runs on the backend's event loop and a model can be 250 MB.
 */
export async function copyExportFolder(
  from: string,
  dir: string,
  patch: Partial<ModelMetadata> = {}
): Promise<ExportResult> {
  const source = resolve(from)
  const isFile = (p: string): Promise<boolean> =>
    stat(p).then(
      (s) => s.isFile(),
      () => false
    )
  if (!(await isFile(join(source, 'metadata.json'))))
    throw messageError('export.notExportFolder', { path: source })
  const target = resolve(dir)
  const existing = await stat(target).catch(() => null)
  if (existing) {
    if (!existing.isDirectory()) throw messageError('export.isFile', { path: target })
    if ((await readdir(target)).length > 0) {
      throw messageError('export.notEmpty', { path: target })
    }
  }
  const parent = dirname(target)
  await mkdir(parent, { recursive: true })
  const tmp = join(parent, `.${basename(target)}.tmp-${process.pid}-${Date.now()}`)
  try {
    await cp(source, tmp, { recursive: true })
    const metaPath = join(tmp, 'metadata.json')
    const meta = { ...(JSON.parse(await readFile(metaPath, 'utf8')) as ModelMetadata), ...patch }
    await writeFile(metaPath, JSON.stringify(meta, null, 2))
    const onnxError =
      meta.frozenBase || (await isFile(join(tmp, 'model.onnx')))
        ? null
        : 'model.onnx was not written at training time'
    await writeFile(join(tmp, 'README.md'), readmeText(meta, onnxError))
    if (existing) await rm(target, { recursive: true })
    await rename(tmp, target)
    return { dir: target, files: (await readdir(target)).sort(), onnxError }
  } catch (err) {
    await rm(tmp, { recursive: true, force: true })
    throw err
  }
}
