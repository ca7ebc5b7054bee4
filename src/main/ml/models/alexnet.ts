// AlexNet as in the Toronto "AlexNet in TensorFlow" tutorial (myalexnet_forward.py), which loads the BVLC
// Caffe weights (bvlc_alexnet.npy). Layer names and weight shapes follow that file so the weights I/O
// module can copy arrays straight in:
//   conv1 11x11/4 96 SAME relu -> lrn1 -> pool1 3/2 VALID -> conv2 5x5 256 groups 2 SAME relu -> lrn2 ->
//   pool2 -> conv3 3x3 384 -> conv4 3x3 384 groups 2 -> conv5 3x3 256 groups 2 -> pool5 -> flatten (NHWC,
//   so fc6's kernel rows are BVLC's (9216, 4096) rows) -> fc6 4096 relu -> drop6 -> fc7 4096 relu -> drop7
//   -> fc8 numClasses.
// fc8 has a softmax activation, so the model outputs probabilities; train it with categoricalCrossentropy.
// (BVLC's fc8 weights are the logits layer; softmax on top is exactly what the tutorial's prob op does.)
// `width` and `fcUnits` shrink the net for tests and CPU experiments; 1 and 4096 give the real one.
import * as tf from '@tensorflow/tfjs'
import { ALEXNET_LRN, GroupedConv2D, LocalResponseNormalization, registerCustomLayers } from '../layers'

export interface AlexNetConfig {
  numClasses: number
  /** Input height = width in pixels; 227 for the BVLC weights. */
  inputSize?: number
  /** Multiplier of every conv filter count (1 = full AlexNet); counts are rounded to even numbers. */
  width?: number
  /** Units of fc6 and fc7 (4096 in AlexNet). */
  fcUnits?: number
  /** Dropout rate after fc6 and fc7 (0 disables; tutorial/Caffe training uses 0.5). */
  dropout?: number
  /** Whether lrn1/lrn2 are present (true in AlexNet). */
  includeLrn?: boolean
  /** Seed of the weight initialisers, for reproducible models. */
  seed?: number
}

export const ALEXNET_LAYER_NAMES = [
  'conv1',
  'lrn1',
  'pool1',
  'conv2',
  'lrn2',
  'pool2',
  'conv3',
  'conv4',
  'conv5',
  'pool5',
  'flatten',
  'fc6',
  'drop6',
  'fc7',
  'drop7',
  'fc8'
] as const

/** Layers that carry [kernel, bias] weights, in order. */
export const ALEXNET_WEIGHT_LAYERS = [
  'conv1',
  'conv2',
  'conv3',
  'conv4',
  'conv5',
  'fc6',
  'fc7',
  'fc8'
] as const
export type AlexNetWeightLayer = (typeof ALEXNET_WEIGHT_LAYERS)[number]

interface Resolved {
  numClasses: number
  inputSize: number
  filters: { conv1: number; conv2: number; conv3: number; conv4: number; conv5: number }
  fcUnits: number
  dropout: number
  includeLrn: boolean
  seed: number | undefined
}

function resolve(config: AlexNetConfig): Resolved {
  const { numClasses } = config
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw new Error(`AlexNet: numClasses must be an integer >= 2, got ${numClasses}`)
  }
  const width = config.width ?? 1
  if (!(width > 0)) throw new Error(`AlexNet: width must be > 0, got ${width}`)
  const inputSize = config.inputSize ?? 227
  const fcUnits = config.fcUnits ?? 4096
  const dropout = config.dropout ?? 0.5
  if (!(dropout >= 0 && dropout < 1)) throw new Error(`AlexNet: dropout must be in [0, 1), got ${dropout}`)
  if (!Number.isInteger(fcUnits) || fcUnits < 1) throw new Error(`AlexNet: bad fcUnits ${fcUnits}`)
  // Even counts keep the two groups of conv2/4/5 equal.
  const f = (n: number) => Math.max(2, 2 * Math.round((n * width) / 2))
  const filters = { conv1: f(96), conv2: f(256), conv3: f(384), conv4: f(384), conv5: f(256) }
  const r = {
    numClasses,
    inputSize,
    filters,
    fcUnits,
    dropout,
    includeLrn: config.includeLrn ?? true,
    seed: config.seed
  }
  const pool5 = spatialSizes(inputSize).pool5
  if (pool5 < 1)
    throw new Error(`AlexNet: inputSize ${inputSize} is too small (pool5 would be empty); use >= 35`)
  return r
}

/** Spatial size after each stage (SAME conv1 stride 4, 3/2 VALID pools). */
export function spatialSizes(inputSize: number): {
  conv1: number
  pool1: number
  pool2: number
  pool5: number
} {
  const pool = (n: number) => Math.floor((n - 3) / 2) + 1
  const conv1 = Math.ceil(inputSize / 4)
  const pool1 = pool(conv1)
  const pool2 = pool(pool1)
  return { conv1, pool1, pool2, pool5: pool(pool2) }
}

/** Expected [kernel, bias] shapes per weight layer, in the BVLC layout (conv [kh, kw, cin/groups, out]). */
export function alexnetWeightShapes(config: AlexNetConfig): Record<AlexNetWeightLayer, [number[], number[]]> {
  const r = resolve(config)
  const { filters: c, fcUnits } = r
  const flat = spatialSizes(r.inputSize).pool5 ** 2 * c.conv5
  return {
    conv1: [[11, 11, 3, c.conv1], [c.conv1]],
    conv2: [[5, 5, c.conv1 / 2, c.conv2], [c.conv2]],
    conv3: [[3, 3, c.conv2, c.conv3], [c.conv3]],
    conv4: [[3, 3, c.conv3 / 2, c.conv4], [c.conv4]],
    conv5: [[3, 3, c.conv4 / 2, c.conv5], [c.conv5]],
    fc6: [[flat, fcUnits], [fcUnits]],
    fc7: [[fcUnits, fcUnits], [fcUnits]],
    fc8: [[fcUnits, r.numClasses], [r.numClasses]]
  }
}

export function createAlexNet(config: AlexNetConfig): tf.LayersModel {
  registerCustomLayers()
  const r = resolve(config)
  const { filters: c } = r
  const seed = (i: number) => (r.seed === undefined ? undefined : r.seed + i)
  const glorot = (i: number) => tf.initializers.glorotUniform({ seed: seed(i) })

  const input = tf.input({ shape: [r.inputSize, r.inputSize, 3], name: 'input' })
  let x = tf.layers
    .conv2d({
      name: 'conv1',
      filters: c.conv1,
      kernelSize: 11,
      strides: 4,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: glorot(1)
    })
    .apply(input) as tf.SymbolicTensor
  const lrn = (name: string, t: tf.SymbolicTensor) =>
    r.includeLrn
      ? (new LocalResponseNormalization({ name, ...ALEXNET_LRN }).apply(t) as tf.SymbolicTensor)
      : t
  const pool = (name: string, t: tf.SymbolicTensor) =>
    tf.layers.maxPooling2d({ name, poolSize: 3, strides: 2, padding: 'valid' }).apply(t) as tf.SymbolicTensor
  const grouped = (name: string, filters: number, kernelSize: number, i: number, t: tf.SymbolicTensor) =>
    new GroupedConv2D({
      name,
      filters,
      kernelSize,
      strides: 1,
      padding: 'same',
      groups: 2,
      activation: 'relu',
      seed: seed(i)
    }).apply(t) as tf.SymbolicTensor

  x = pool('pool1', lrn('lrn1', x))
  x = pool('pool2', lrn('lrn2', grouped('conv2', c.conv2, 5, 2, x)))
  x = tf.layers
    .conv2d({
      name: 'conv3',
      filters: c.conv3,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: glorot(3)
    })
    .apply(x) as tf.SymbolicTensor
  x = grouped('conv4', c.conv4, 3, 4, x)
  x = grouped('conv5', c.conv5, 3, 5, x)
  x = pool('pool5', x)
  x = tf.layers.flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor
  const dense = (
    name: string,
    units: number,
    activation: 'relu' | 'softmax',
    i: number,
    t: tf.SymbolicTensor
  ) =>
    tf.layers.dense({ name, units, activation, kernelInitializer: glorot(i) }).apply(t) as tf.SymbolicTensor
  // No seed for dropout: a seeded tfjs Dropout draws the same mask at every step (it reseeds per call), so
  // half of fc6/fc7 would never train yet be used at inference. The trainer reseeds it per step (reseedDropout).
  const drop = (name: string, t: tf.SymbolicTensor) =>
    r.dropout > 0 ? (tf.layers.dropout({ name, rate: r.dropout }).apply(t) as tf.SymbolicTensor) : t
  x = drop('drop6', dense('fc6', r.fcUnits, 'relu', 6, x))
  x = drop('drop7', dense('fc7', r.fcUnits, 'relu', 7, x))
  const output = dense('fc8', r.numClasses, 'softmax', 8, x)
  return tf.model({ inputs: input, outputs: output, name: 'alexnet' })
}

/**
 * A model sharing `model`'s layers (and weights) that outputs the activations of `layer` (default fc7,
 * after its relu). Used to extract features for the fixed-feature-extractor strategies.
 */
export function featureModel(model: tf.LayersModel, layer = 'fc7'): tf.LayersModel {
  let target: tf.layers.Layer
  try {
    target = model.getLayer(layer)
  } catch {
    throw new Error(`featureModel: model '${model.name}' has no layer '${layer}'`)
  }
  return tf.model({
    inputs: model.inputs,
    outputs: target.output as tf.SymbolicTensor,
    name: `${model.name}_${layer}`
  })
}
