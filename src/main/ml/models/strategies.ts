// Builds the model for each of the tutorial's four transfer-learning cases, and recommends one.
//
//   fine-tune           AlexNet starting from base weights (BVLC npy or a studio model), new fc8, every layer
//                       trains; pretrained layers may learn slower (their gradients are scaled).
//   retrain             the same architecture from a fresh initialisation (the base is not used).
//   feature-extraction  the base up to fc7 is frozen; only a new fc8 trains, on fc7 features that are
//                       computed once per image (see features.ts) — seconds instead of hours. Augmentation
//                       does not apply: each image has one cached feature vector.
//   custom              a small CNN designed for the task, trained from scratch.
//
// The new fc8 is initialised as in the tutorial: truncated normal weights (stddev 1e-2), zero biases.
import { createHash } from 'node:crypto'
import { createReadStream, existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import type { ModelMetadata, Preprocessing, Strategy, TrainConfig } from '../../../shared/training'
import { createAlexNet, featureModel } from './alexnet'
import { createCompactCnn } from './compact'
import { registerCustomLayers } from '../layers'
import { readBvlcWeights } from '../weights/bvlc'
import { loadModel, MAX_WEIGHT_BYTES } from '../tfjs/ioHandlers'
import { openRegularFile, readJsonBounded } from '../../fs/safeFile'
import { createTorchvisionModel, torchvisionFromStateDict, type TorchvisionModel } from './torchvision'
import type { OnnxBaseRef } from '../features/onnxExtractor'

/** Layers whose weights the BVLC file provides (fc8 is replaced for the new classes). */
export const BVLC_LAYERS = ['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc6', 'fc7'] as const

export interface BuiltModel {
  strategy: Strategy
  /** Image -> class probabilities; what evaluation, prediction and export use. */
  model: tf.LayersModel
  /** What the training loop updates: `model`, or for feature extraction only the fc8 head. */
  trainable: tf.LayersModel
  /** Feature extraction: the frozen image -> fc7 model, and the feature length. */
  base: tf.LayersModel | null
  /**
   * Feature extraction on an ONNX model: the frozen base runs in onnxruntime (there is no TF.js copy of
   * it), `model` and `trainable` are both the head on its features, and the export keeps the two apart.
   */
  onnxBase?: OnnxBaseRef
  featureDim: number
  /** Names of `trainable`'s variables that hold pretrained weights (their gradient is scaled). */
  pretrained: Set<string>
  /** Identifies the base weights (content hash), for the feature cache; null without a base. */
  baseKey: string | null
  /** Preprocessing the model expects: a studio base brings its own, which wins over the config's. */
  preprocessing: Preprocessing
  /** Fine-tune of a pretrained backbone: epochs at the start that train the new head only (0 = none). */
  headOnlyEpochs: number
  /** Frees every tensor the models hold (the full model shares layers with base and head). */
  dispose(): void
}

/** What every builder shares (buildModel fills it from the config); each adds the models themselves. */
type BuiltCommon = Omit<BuiltModel, 'model' | 'trainable' | 'base' | 'pretrained' | 'dispose'>

// The recommendation lives with the TF.js-free config helpers; re-exported for the engine's callers.
export { recommendStrategy, type RecommendInput } from '../train/config'

/** SHA-1 of a file, streamed (BVLC weights are 240 MB). */
export async function fileHash(path: string): Promise<string> {
  const h = createHash('sha1')
  await new Promise<void>((resolve, reject) => {
    createReadStream(path)
      .on('data', (chunk) => h.update(chunk))
      .on('end', () => resolve())
      .on('error', reject)
  })
  return h.digest('hex')
}

/** The tutorial's new output layer. */
export function newFc8(numClasses: number, seed: number, name = 'fc8'): tf.layers.Layer {
  return tf.layers.dense({
    units: numClasses,
    activation: 'softmax',
    kernelInitializer: tf.initializers.truncatedNormal({ stddev: 1e-2, seed }),
    biasInitializer: 'zeros',
    name
  })
}

function alexnetOptions(config: TrainConfig, numClasses: number) {
  return {
    numClasses,
    inputSize: config.preprocessing.inputSize,
    width: config.model.width ?? 1,
    fcUnits: config.model.fcUnits ?? 4096,
    dropout: config.model.dropout ?? 0.5,
    seed: config.seed
  }
}

/** Copies the BVLC weights conv1..fc7 into an AlexNet built with the same width and fc units. */
async function loadBvlcInto(model: tf.LayersModel, path: string): Promise<void> {
  if (!existsSync(path)) throw new Error(`base weights file ${path} does not exist`)
  const weights = await readBvlcWeights(path)
  for (const name of BVLC_LAYERS) {
    const w = weights[name]
    if (!w) throw new Error(`${path} has no '${name}' weights; is it a bvlc-alexnet.npy file?`)
    const layer = model.getLayer(name)
    const want = layer.getWeights().map((t) => t.shape)
    if (
      want.length !== 2 ||
      want[0].join('x') !== w.W.shape.join('x') ||
      want[1].join('x') !== w.b.shape.join('x')
    ) {
      throw new Error(
        `${path}: '${name}' has shapes W [${w.W.shape}] b [${w.b.shape}], the model expects ` +
          `${want.map((s) => `[${s}]`).join(' ')}; set width/fc units/input size to match the file`
      )
    }
    const values = [tf.tensor(w.W.data, w.W.shape), tf.tensor(w.b.data, w.b.shape)]
    layer.setWeights(values)
    tf.dispose(values)
  }
}

/** Reads a studio model folder (export or checkpoint) with its metadata, when it has one. */
export async function loadStudioModel(
  dir: string
): Promise<{ model: tf.LayersModel; metadata: ModelMetadata | null }> {
  if (!existsSync(join(dir, 'model.json')))
    throw new Error(`${dir} is not a studio model folder (no model.json)`)
  registerCustomLayers()
  const model = await loadModel(dir)
  const metaPath = join(dir, 'metadata.json')
  let metadata: ModelMetadata | null = null
  try {
    metadata = existsSync(metaPath)
      ? ((await readJsonBounded(metaPath, undefined, 'model metadata file')) as ModelMetadata)
      : null
  } catch (err) {
    model.dispose()
    throw err
  }
  return { model, metadata }
}

/**
 * The feature-cache key of a studio model: a hash of its weights.bin, streamed from a checked regular file
 * and never past the size its handle reported (a symlink to /dev/zero is refused, not hashed forever).
 */
async function studioKey(dir: string): Promise<string> {
  const bin = join(dir, 'weights.bin')
  const h = createHash('sha1')
  if (!existsSync(bin)) {
    h.update(`${dir}:${statSync(join(dir, 'model.json')).mtimeMs}`)
    return `studio:${h.digest('hex')}`
  }
  const file = await openRegularFile(bin, { what: 'weights file', maxBytes: MAX_WEIGHT_BYTES })
  try {
    if (file.size > 0) {
      await new Promise<void>((resolve, reject) => {
        file.handle
          .createReadStream({ start: 0, end: file.size - 1, autoClose: false })
          .on('data', (chunk) => h.update(chunk))
          .on('end', () => resolve())
          .on('error', reject)
      })
    }
  } finally {
    await file.close()
  }
  return `studio:${h.digest('hex')}`
}

/** The pretrained AlexNet a fine-tune or feature-extraction run starts from, with fc8 still the old one. */
async function loadBase(
  config: TrainConfig,
  numClasses: number
): Promise<{ model: tf.LayersModel; key: string; preprocessing: Preprocessing }> {
  const base = config.base
  if (base.kind === 'bvlc-npy') {
    const model = createAlexNet(alexnetOptions(config, numClasses))
    try {
      await loadBvlcInto(model, base.path)
    } catch (err) {
      model.dispose()
      throw err
    }
    return { model, key: `bvlc:${await fileHash(base.path)}`, preprocessing: config.preprocessing }
  }
  if (base.kind === 'studio-model') {
    const { model, metadata } = await loadStudioModel(base.path)
    if (metadata && metadata.model.architecture !== 'alexnet') {
      model.dispose()
      throw new Error(
        `${base.path} is a '${metadata.model.architecture}' model; transfer needs an AlexNet base`
      )
    }
    try {
      model.getLayer('fc7')
    } catch {
      model.dispose()
      throw new Error(`${base.path} has no 'fc7' layer; transfer needs an AlexNet base`)
    }
    return {
      model,
      key: await studioKey(base.path),
      preprocessing: metadata?.preprocessing ?? config.preprocessing
    }
  }
  throw new Error(
    `strategy '${config.strategy}' needs base weights (a bvlc-alexnet.npy file or a studio model)`
  )
}

/**
 * Frees the weights of models that share layers. `LayersModel.dispose()` counts references per layer
 * and throws on a layer that another model already disposed, so shared variables are freed once here.
 */
export function disposeModels(...models: (tf.LayersModel | null | undefined)[]): void {
  const seen = new Set<tf.LayerVariable>()
  for (const m of models) for (const w of m?.weights ?? []) seen.add(w)
  for (const w of seen) {
    try {
      w.dispose()
    } catch {
      // Already disposed through another path: nothing left to free.
    }
  }
}

/** Image -> fc7 of `model`, followed by a new fc8: the fine-tune model. */
function withNewHead(model: tf.LayersModel, numClasses: number, seed: number): tf.LayersModel {
  const fc7 = model.getLayer('fc7').output as tf.SymbolicTensor
  const out = newFc8(numClasses, seed).apply(fc7) as tf.SymbolicTensor
  return tf.model({ inputs: model.inputs, outputs: out, name: 'alexnet_finetune' })
}

/** Builds the model(s) for `config` with `numClasses` outputs. */
export async function buildModel(config: TrainConfig, numClasses: number): Promise<BuiltModel> {
  if (numClasses < 2) throw new Error(`training needs at least 2 classes, got ${numClasses}`)
  registerCustomLayers()
  const common = {
    strategy: config.strategy,
    preprocessing: config.preprocessing,
    baseKey: null,
    featureDim: 0,
    headOnlyEpochs: 0
  }
  if (config.model.architecture === 'torchvision' || config.base.kind === 'torchvision-pth') {
    return buildTorchvision(config, numClasses, common)
  }
  if (config.model.architecture === 'onnx' || config.base.kind === 'onnx') {
    return buildOnnxHead(config, numClasses, common)
  }

  if (config.strategy === 'custom') {
    const model = createCompactCnn({
      numClasses,
      inputSize: config.preprocessing.inputSize,
      // ModelSpec's width scales the first block's 32 filters; fcUnits is the hidden dense layer.
      channels: Math.max(2, Math.round(32 * (config.model.width ?? 1))),
      denseUnits: config.model.fcUnits ?? 256,
      dropout: config.model.dropout,
      flattenDropout: config.model.flattenDropout,
      batchNorm: config.model.batchNorm,
      seed: config.seed
    })
    return {
      ...common,
      model,
      trainable: model,
      base: null,
      pretrained: new Set(),
      dispose: () => model.dispose()
    }
  }

  if (config.strategy === 'retrain') {
    const model = createAlexNet(alexnetOptions(config, numClasses))
    return {
      ...common,
      model,
      trainable: model,
      base: null,
      pretrained: new Set(),
      dispose: () => model.dispose()
    }
  }

  const loaded = await loadBase(config, numClasses)
  const preprocessing = loaded.preprocessing

  if (config.strategy === 'fine-tune') {
    const model = withNewHead(loaded.model, numClasses, config.seed)
    const fc8 = new Set(model.getLayer('fc8').trainableWeights.map((w) => w.name))
    for (const layer of model.layers) layer.trainable = true
    const pretrained = new Set(model.trainableWeights.map((w) => w.name).filter((n) => !fc8.has(n)))
    return {
      ...common,
      preprocessing,
      baseKey: loaded.key,
      model,
      trainable: model,
      base: null,
      pretrained,
      // The fine-tune model shares every layer but the old fc8 with the loaded one.
      dispose: () => disposeModels(model, loaded.model)
    }
  }

  // feature-extraction: frozen image -> fc7, and a head fc7 -> fc8 trained on cached features.
  const base = featureModel(loaded.model, 'fc7')
  for (const layer of base.layers) layer.trainable = false
  const featureDim = base.outputs[0].shape[base.outputs[0].shape.length - 1] as number
  const input = tf.input({ shape: [featureDim], name: 'fc7_features' })
  const fc8 = newFc8(numClasses, config.seed)
  const head = tf.model({ inputs: input, outputs: fc8.apply(input) as tf.SymbolicTensor, name: 'fc8_head' })
  // The full model reuses the head's fc8 layer, so training the head trains the full model too.
  const full = tf.model({
    inputs: base.inputs,
    outputs: fc8.apply(base.outputs[0]) as tf.SymbolicTensor,
    name: 'alexnet_features'
  })
  return {
    ...common,
    preprocessing,
    baseKey: loaded.key,
    model: full,
    trainable: head,
    base,
    featureDim,
    pretrained: new Set(),
    dispose: () => disposeModels(full, head, base, loaded.model)
  }
}

/** The BatchNormalization layers of a model (torchvision's backbones have one after most convolutions). */
function batchNormLayers(model: tf.LayersModel): tf.layers.Layer[] {
  return model.layers.filter((l) => l.getClassName() === 'BatchNormalization')
}

/**
 * The four strategies on a torchvision backbone (ResNet, MobileNet, EfficientNet, torchvision's AlexNet):
 *   retrain             the architecture with torchvision's fresh initialisation (the base is not read);
 *   fine-tune           the .pth weights with a new head; batch norm stays in inference mode (frozen layers,
 *                       see kernels/batchNorm.ts) so ImageNet's statistics are kept, the pretrained layers
 *                       learn at `pretrainedRateFactor`, and the first epoch trains the head alone;
 *   feature-extraction  the backbone up to the input of its last Linear, frozen; a new head on cached
 *                       features (computed in onnxruntime through the backbone's ONNX export when it loads).
 */
async function buildTorchvision(
  config: TrainConfig,
  numClasses: number,
  common: BuiltCommon
): Promise<BuiltModel> {
  const base = config.base
  const arch = base.kind === 'torchvision-pth' ? base.architecture : config.model.backbone
  if (!arch) throw new Error('a torchvision model needs its architecture (model.backbone)')
  if (config.model.backbone && config.model.backbone !== arch) {
    throw new Error(`the base is a ${arch} state dict, but the model is set to ${config.model.backbone}`)
  }
  const inputSize = config.preprocessing.inputSize
  if (config.strategy === 'retrain' || base.kind !== 'torchvision-pth') {
    if (config.strategy !== 'retrain')
      throw new Error(`strategy '${config.strategy}' needs the ${arch} weights (a hub model or a .pth file)`)
    const tv = createTorchvisionModel(arch, { numClasses, inputSize, seed: config.seed })
    return {
      ...common,
      model: tv.model,
      trainable: tv.model,
      base: null,
      pretrained: new Set(),
      dispose: () => tv.dispose()
    }
  }
  // The .pth reader loads only for the runs that read one.
  const { readPth } = await import('../weights/pth')
  const stateDict = await readPth(base.path)
  let tv: TorchvisionModel
  try {
    tv = torchvisionFromStateDict(arch, stateDict, { numClasses, inputSize, seed: config.seed })
  } catch (err) {
    throw new Error(`${base.path}: ${(err as Error).message}`)
  } finally {
    stateDict.clear()
  }
  const baseKey = `pth:${arch}:${await fileHash(base.path)}`
  const head = tv.model.getLayer(tv.head)
  if (config.strategy === 'fine-tune') {
    for (const layer of tv.model.layers) layer.trainable = true
    for (const bn of batchNormLayers(tv.model)) bn.trainable = false
    const headWeights = new Set(head.trainableWeights.map((w) => w.name))
    const pretrained = new Set(
      tv.model.trainableWeights.map((w) => w.name).filter((n) => !headWeights.has(n))
    )
    return {
      ...common,
      baseKey,
      model: tv.model,
      trainable: tv.model,
      base: null,
      pretrained,
      headOnlyEpochs: config.epochs >= 3 ? 1 : 0,
      dispose: () => tv.dispose()
    }
  }
  // feature-extraction: the frozen backbone, and a new head on its features.
  const featureBase = tv.featureModel
  for (const layer of featureBase.layers) layer.trainable = false
  const input = tf.input({ shape: [tv.featureDim], name: 'features' })
  const fc = newFc8(numClasses, config.seed, 'head')
  const headModel = tf.model({ inputs: input, outputs: fc.apply(input) as tf.SymbolicTensor, name: 'head' })
  const full = tf.model({
    inputs: featureBase.inputs,
    outputs: fc.apply(featureBase.outputs[0]) as tf.SymbolicTensor,
    name: `${arch}_features`
  })
  return {
    ...common,
    baseKey,
    model: full,
    trainable: headModel,
    base: featureBase,
    featureDim: tv.featureDim,
    pretrained: new Set(),
    dispose: () => disposeModels(full, headModel, featureBase, tv.model)
  }
}

/**
 * Feature extraction on an ONNX image model (strategy 3 only: the base has no trainable TF.js copy). The
 * features are the tensor the user named or the one the extractor finds (the input of the classifier's
 * last Gemm/MatMul); only a new head trains on them, as on any other base.
 */
async function buildOnnxHead(
  config: TrainConfig,
  numClasses: number,
  common: BuiltCommon
): Promise<BuiltModel> {
  const base = config.base
  if (base.kind !== 'onnx') throw new Error('an ONNX model spec needs an ONNX base file')
  if (config.strategy !== 'feature-extraction') {
    throw new Error(
      `an ONNX base can only be used frozen, for feature extraction (strategy 3), not for '${config.strategy}'`
    )
  }
  const { createOnnxFeatureExtractor } = await import('../features/onnxExtractor')
  const extractor = await createOnnxFeatureExtractor(base.path, { output: base.output, threads: 1 })
  const ref: OnnxBaseRef = {
    path: base.path,
    output: extractor.output,
    inputSize: extractor.inputSize,
    layout: extractor.layout
  }
  const featureDim = extractor.featureDim
  await extractor.dispose()
  if (config.preprocessing.inputSize !== ref.inputSize) {
    throw new Error(
      `${base.path} takes ${ref.inputSize} px images, but the preprocessing is set to ${config.preprocessing.inputSize} px`
    )
  }
  const input = tf.input({ shape: [featureDim], name: 'features' })
  const fc = newFc8(numClasses, config.seed, 'head')
  const head = tf.model({ inputs: input, outputs: fc.apply(input) as tf.SymbolicTensor, name: 'head' })
  return {
    ...common,
    baseKey: `onnx:${await fileHash(base.path)}:${ref.output}`,
    model: head,
    trainable: head,
    base: null,
    onnxBase: ref,
    featureDim,
    pretrained: new Set(),
    dispose: () => disposeModels(head)
  }
}
