// Turns an architecture spec (spec.ts) into a functional tf.LayersModel, NHWC, fresh or with a PyTorch
// state dict's weights. Layer names are the torch module paths (`layer1.0.conv1`, `features.3.block.2.fc1`),
// so `<layer>.weight` / `.bias` / `.running_mean` ... name the state-dict tensors each layer holds.
//   conv            Conv2D, or DepthwiseConv2D when groups == channels. Padding p is PyTorch's symmetric
//                   padding: 'same' where TF's equals it (stride 1, p = (k - 1) / 2), otherwise a
//                   ZeroPadding2D `<name>_pad` and 'valid' (TF's 'same' pads bottom/right only at stride 2)
//   batchnorm       the project's BatchNormalization (tfjs's, with the fast training kernels), epsilon as
//                   torchvision sets it, Keras momentum = 1 - PyTorch momentum
//   maxpool         with padding: ZeroPadding2D + 'valid' pool (exact, the input follows a ReLU)
//   adaptiveavgpool AlexNet's AdaptiveAvgPool2d(6): no layer when the map already is 6x6 (inputSize 224)
//   globalavgpool   GlobalAveragePooling2D (+ Reshape `<name>_keepdims` to [1, 1, C] inside SE blocks)
//   linear          Dense; the head gets softmax unless `softmax: false`
// Dropout and StochasticDepth are the identity at inference, as in eval mode.
import * as tf from '@tensorflow/tfjs'
import { batchNormalization } from '../../tfjs/kernels/batchNorm'
import { HardSigmoid, HardSwish, StochasticDepth, registerTorchvisionLayers } from './layers'
import {
  torchvisionSpec,
  type Activation,
  type ArchSpec,
  type Init,
  type SpecNode,
  type TorchvisionArch
} from './spec'
import { checkStateDict, isDepthwise, stateDictClasses, tfWeightsOf, type TorchStateDict } from './stateDict'

export interface TorchvisionOptions {
  /** Outputs of the head. */
  numClasses: number
  /** Square input side in pixels; default 224 (torchvision's). */
  inputSize?: number
  /** Softmax on the head (true, default: the studio's models output probabilities) or raw logits. */
  softmax?: boolean
  /** Seed of the fresh weights' initialisers (reproducible models). */
  seed?: number
}

export interface TorchvisionFromStateDictOptions extends Omit<TorchvisionOptions, 'numClasses'> {
  /**
   * Outputs of the head; default the state dict's. When it differs, the head (the last Linear) is a fresh
   * one, as `model.fc = nn.Linear(512, n)` does in PyTorch; every other tensor is loaded.
   */
  numClasses?: number
}

export interface TorchvisionModel {
  arch: TorchvisionArch
  /** Image (NHWC, TORCHVISION_PREPROCESSING applied) -> class probabilities (or logits). */
  model: tf.LayersModel
  /** The same layers up to the input of the last Linear: the features, in eval mode. */
  featureModel: tf.LayersModel
  featureDim: number
  inputSize: number
  numClasses: number
  /** Name of the head layer (the last Linear), e.g. 'fc' or 'classifier.1'. */
  head: string
  /** Whether the head's weights came from the state dict (false for fresh models and new class counts). */
  headLoaded: boolean
  /** Frees the weights (both models share them). */
  dispose(): void
}

function initializer(init: Init, seed: number | undefined): tf.serialization.Serializable {
  if (init === 'zeros') return tf.initializers.zeros()
  if ('normal' in init) return tf.initializers.randomNormal({ mean: 0, stddev: init.normal, seed })
  return tf.initializers.randomUniform({ minval: -init.uniform, maxval: init.uniform, seed })
}

type Initializer = ReturnType<typeof tf.initializers.zeros>

function activationLayer(name: string, fn: Activation): tf.layers.Layer {
  switch (fn) {
    case 'hardswish':
      return new HardSwish({ name })
    case 'hardsigmoid':
      return new HardSigmoid({ name })
    case 'silu':
      return tf.layers.activation({ name, activation: 'swish' })
    default:
      return tf.layers.activation({ name, activation: fn })
  }
}

interface GraphOptions {
  softmax: boolean
  seed: number | undefined
  /** Nodes whose weights will be overwritten: they get zeros instead of a random draw. */
  loaded: (node: SpecNode) => boolean
}

function buildGraph(
  spec: ArchSpec,
  opts: GraphOptions
): { model: tf.LayersModel; featureModel: tf.LayersModel } {
  registerTorchvisionLayers()
  const input = tf.input({ shape: [spec.inputSize, spec.inputSize, 3], name: 'input' })
  const out = new Map<string, tf.SymbolicTensor>([['input', input]])
  const get = (id: string): tf.SymbolicTensor => {
    const t = out.get(id)
    if (!t) throw new Error(`${spec.arch}: node input '${id}' is not built yet`)
    return t
  }
  const apply = (layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) =>
    layer.apply(x) as tf.SymbolicTensor

  spec.nodes.forEach((node, index) => {
    const seed = opts.seed === undefined ? undefined : opts.seed + index
    const init = (i: Init): Initializer =>
      (opts.loaded(node) ? tf.initializers.zeros() : initializer(i, seed)) as Initializer
    let y: tf.SymbolicTensor
    switch (node.op) {
      case 'conv': {
        let x = get(node.input)
        let padding: 'same' | 'valid' = 'valid'
        if (node.padding > 0) {
          if (node.stride === 1 && 2 * node.padding === node.kernel - 1) padding = 'same'
          else x = apply(tf.layers.zeroPadding2d({ name: `${node.name}_pad`, padding: node.padding }), x)
        }
        const common = {
          name: node.name,
          kernelSize: node.kernel,
          strides: node.stride,
          padding,
          useBias: node.bias,
          biasInitializer: init(node.biasInit)
        }
        if (isDepthwise(node)) {
          y = apply(
            tf.layers.depthwiseConv2d({
              ...common,
              depthMultiplier: 1,
              depthwiseInitializer: init(node.weightInit)
            }),
            x
          )
        } else if (node.groups === 1) {
          y = apply(
            tf.layers.conv2d({
              ...common,
              filters: node.outChannels,
              kernelInitializer: init(node.weightInit)
            }),
            x
          )
        } else {
          throw new Error(
            `${spec.arch}: '${node.name}' has ${node.groups} groups; only 1 or depthwise are supported`
          )
        }
        break
      }
      case 'batchnorm':
        y = apply(
          batchNormalization({
            name: node.name,
            axis: -1,
            epsilon: node.epsilon,
            momentum: 1 - node.momentum
          }),
          get(node.input)
        )
        break
      case 'activation':
        y = apply(activationLayer(node.name, node.fn), get(node.input))
        break
      case 'maxpool': {
        let x = get(node.input)
        if (node.padding > 0)
          x = apply(tf.layers.zeroPadding2d({ name: `${node.name}_pad`, padding: node.padding }), x)
        y = apply(
          tf.layers.maxPooling2d({
            name: node.name,
            poolSize: node.kernel,
            strides: node.stride,
            padding: 'valid'
          }),
          x
        )
        break
      }
      case 'adaptiveavgpool': {
        const side = spec.shapes.get(node.input)![0]
        const k = side / node.size
        y =
          k === 1
            ? get(node.input)
            : apply(
                tf.layers.averagePooling2d({ name: node.name, poolSize: k, strides: k, padding: 'valid' }),
                get(node.input)
              )
        break
      }
      case 'globalavgpool':
        y = apply(tf.layers.globalAveragePooling2d({ name: node.name }), get(node.input))
        if (node.keepDims)
          y = apply(
            tf.layers.reshape({ name: `${node.name}_keepdims`, targetShape: spec.shapes.get(node.name)! }),
            y
          )
        break
      case 'flatten':
        y = apply(tf.layers.flatten({ name: node.name }), get(node.input))
        break
      case 'linear':
        y = apply(
          tf.layers.dense({
            name: node.name,
            units: node.outFeatures,
            activation: node.name === spec.head && opts.softmax ? 'softmax' : 'linear',
            kernelInitializer: init(node.weightInit),
            biasInitializer: init(node.biasInit)
          }),
          get(node.input)
        )
        break
      case 'dropout':
        // Unseeded, like the studio's other models: the trainer reseeds Dropout layers per step.
        y = apply(tf.layers.dropout({ name: node.name, rate: node.rate }), get(node.input))
        break
      case 'stochasticdepth':
        y = apply(new StochasticDepth({ name: node.name, rate: node.rate }), get(node.input))
        break
      case 'add':
        y = apply(tf.layers.add({ name: node.name }), node.inputs.map(get))
        break
      case 'multiply':
        y = apply(tf.layers.multiply({ name: node.name }), node.inputs.map(get))
        break
    }
    out.set(node.name, y)
  })
  const head = spec.nodes.find((n) => n.name === spec.head)!
  if (head.op !== 'linear') throw new Error(`${spec.arch}: head '${spec.head}' is not a Linear node`)
  const model = tf.model({ inputs: input, outputs: get(spec.head), name: spec.arch })
  const featureModel = tf.model({ inputs: input, outputs: get(head.input), name: `${spec.arch}_features` })
  return { model, featureModel }
}

function disposeShared(model: tf.LayersModel): void {
  for (const w of model.weights) {
    try {
      w.dispose()
    } catch {
      // Already freed through another model that shares it.
    }
  }
}

function wrap(
  spec: ArchSpec,
  models: { model: tf.LayersModel; featureModel: tf.LayersModel },
  headLoaded: boolean
): TorchvisionModel {
  return {
    arch: spec.arch,
    ...models,
    featureDim: spec.featureDim,
    inputSize: spec.inputSize,
    numClasses: spec.numClasses,
    head: spec.head,
    headLoaded,
    dispose: () => disposeShared(models.model)
  }
}

/** A torchvision architecture with fresh weights, initialised as torchvision does ("retrain from scratch"). */
export function createTorchvisionModel(arch: TorchvisionArch, options: TorchvisionOptions): TorchvisionModel {
  const spec = torchvisionSpec(arch, { numClasses: options.numClasses, inputSize: options.inputSize })
  const models = buildGraph(spec, {
    softmax: options.softmax ?? true,
    seed: options.seed,
    loaded: () => false
  })
  return wrap(spec, models, false)
}

/**
 * A torchvision architecture with the weights of `stateDict` (PyTorch names and layouts, as from
 * `model.state_dict()`; num_batches_tracked may be present and is ignored). Every tensor's name and shape
 * is checked first, and the first mismatch (missing, unexpected, wrong shape) throws, naming it.
 */
export function torchvisionFromStateDict(
  arch: TorchvisionArch,
  stateDict: TorchStateDict,
  options: TorchvisionFromStateDictOptions = {}
): TorchvisionModel {
  const probe = torchvisionSpec(arch, { inputSize: options.inputSize })
  const sourceClasses = stateDictClasses(probe, stateDict) ?? options.numClasses ?? probe.numClasses
  const source = torchvisionSpec(arch, { numClasses: sourceClasses, inputSize: options.inputSize })
  checkStateDict(source, stateDict)
  const numClasses = options.numClasses ?? sourceClasses
  const headLoaded = numClasses === sourceClasses
  const spec = headLoaded ? source : torchvisionSpec(arch, { numClasses, inputSize: options.inputSize })
  const load = (node: SpecNode) => node.name !== spec.head || headLoaded
  const models = buildGraph(spec, { softmax: options.softmax ?? true, seed: options.seed, loaded: load })
  try {
    for (const node of spec.nodes) {
      if (!load(node)) continue
      const weights = tfWeightsOf(node, stateDict)
      if (weights.length === 0) continue
      const tensors = weights.map((w) => tf.tensor(w.data, w.shape, 'float32'))
      try {
        models.model.getLayer(node.name).setWeights(tensors)
      } finally {
        tf.dispose(tensors)
      }
    }
  } catch (err) {
    disposeShared(models.model)
    throw err
  }
  return wrap(spec, models, headLoaded)
}
