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
import { resolveAlexNet, type AlexNetConfig } from './shapes'

// The TF-free arithmetic lives in shapes.ts; these stay importable from here for the engine's callers.
export {
  ALEXNET_WEIGHT_LAYERS,
  alexnetWeightShapes,
  spatialSizes,
  type AlexNetConfig,
  type AlexNetWeightLayer
} from './shapes'

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

export function createAlexNet(config: AlexNetConfig): tf.LayersModel {
  registerCustomLayers()
  const r = resolveAlexNet(config)
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
