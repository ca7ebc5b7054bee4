// Strategy 4, "a new model designed for the data": a small VGG-style CNN sized from the input resolution.
// Each block is conv-BN-relu-conv-BN-relu-maxpool (2x2) with channels doubling from `channels`; the number
// of blocks halves the input down to about 4 px (32 px -> 3 blocks of 32/64/128). The head is flatten
// (or global average pooling when flatten would be wide), dense 256 relu, dropout, dense softmax.
// Only layers an ONNX export maps directly: Conv2D, BatchNormalization, Activation('relu'), MaxPooling2D,
// GlobalAveragePooling2D, Flatten, Dense, Dropout.
import * as tf from '@tensorflow/tfjs'
import { batchNormalization } from '../tfjs/kernels/batchNorm'

export interface CompactCnnConfig {
  numClasses: number
  /** Input height = width in pixels (e.g. 32 for GTSRB crops). */
  inputSize: number
  /** Filters of the first block (doubles each block). Default 32. */
  channels?: number
  /** Conv blocks; default from inputSize (down to ~4 px, between 1 and 5). */
  depth?: number
  /** Dropout before the last dense layer. Default 0.5. */
  dropout?: number
  /** Dropout on the flattened features, before the hidden dense layer. Default 0 (none). */
  flattenDropout?: number
  /** Conv-BN-relu (true, default) or conv with relu and bias (false). */
  batchNorm?: boolean
  /** Units of the hidden dense layer. Default 256. */
  denseUnits?: number
  /** Head after the last block; default flatten when it gives <= 4096 features, else global average pooling. */
  head?: 'flatten' | 'gap'
  seed?: number
}

/** Blocks that bring inputSize down to about 4 px: 32 -> 3, 64 -> 4, 16 -> 2; at least 1, at most 5. */
export function defaultDepth(inputSize: number): number {
  return Math.min(5, Math.max(1, Math.floor(Math.log2(inputSize / 4))))
}

export function createCompactCnn(config: CompactCnnConfig): tf.LayersModel {
  const { numClasses, inputSize } = config
  if (!Number.isInteger(numClasses) || numClasses < 2)
    throw new Error(`CompactCnn: bad numClasses ${numClasses}`)
  if (!Number.isInteger(inputSize) || inputSize < 4) throw new Error(`CompactCnn: bad inputSize ${inputSize}`)
  const channels = config.channels ?? 32
  const depth = config.depth ?? defaultDepth(inputSize)
  const batchNorm = config.batchNorm ?? true
  const dropout = config.dropout ?? 0.5
  const flattenDropout = config.flattenDropout ?? 0
  const denseUnits = config.denseUnits ?? 256
  if (inputSize >> depth < 1)
    throw new Error(`CompactCnn: ${depth} blocks need an input of >= ${2 ** depth} px`)
  let n = 0
  const seed = () => (config.seed === undefined ? undefined : config.seed + n++)

  const input = tf.input({ shape: [inputSize, inputSize, 3], name: 'input' })
  let x: tf.SymbolicTensor = input
  for (let b = 1; b <= depth; b++) {
    const filters = channels * 2 ** (b - 1)
    for (const k of [1, 2]) {
      const name = `block${b}_conv${k}`
      x = tf.layers
        .conv2d({
          name,
          filters,
          kernelSize: 3,
          padding: 'same',
          useBias: !batchNorm,
          activation: batchNorm ? 'linear' : 'relu',
          kernelInitializer: tf.initializers.heNormal({ seed: seed() })
        })
        .apply(x) as tf.SymbolicTensor
      if (batchNorm) {
        // Momentum 0.9 (PyTorch's default) rather than Keras's 0.99: the moving statistics used at
        // evaluation must settle within the few hundred steps a short studio run takes.
        x = batchNormalization({ name: `block${b}_bn${k}`, momentum: 0.9 }).apply(x) as tf.SymbolicTensor
        x = tf.layers
          .activation({ name: `block${b}_relu${k}`, activation: 'relu' })
          .apply(x) as tf.SymbolicTensor
      }
    }
    x = tf.layers
      .maxPooling2d({ name: `block${b}_pool`, poolSize: 2, strides: 2 })
      .apply(x) as tf.SymbolicTensor
  }
  const side = inputSize >> depth
  const lastFilters = channels * 2 ** (depth - 1)
  const head = config.head ?? (side * side * lastFilters <= 4096 ? 'flatten' : 'gap')
  x = (
    head === 'flatten'
      ? tf.layers.flatten({ name: 'flatten' })
      : tf.layers.globalAveragePooling2d({ name: 'gap' })
  ).apply(x) as tf.SymbolicTensor
  // Unseeded, like the dropout below: the trainer reseeds every Dropout layer per step.
  if (flattenDropout > 0)
    x = tf.layers.dropout({ name: 'flatten_dropout', rate: flattenDropout }).apply(x) as tf.SymbolicTensor
  x = tf.layers
    .dense({
      name: 'fc1',
      units: denseUnits,
      activation: 'relu',
      kernelInitializer: tf.initializers.heNormal({ seed: seed() })
    })
    .apply(x) as tf.SymbolicTensor
  // No seed for dropout: a seeded tfjs Dropout draws the same mask at every step (it reseeds per call), so
  // half of the dense units would never train yet count at inference. The trainer reseeds it per step instead.
  if (dropout > 0) x = tf.layers.dropout({ name: 'dropout', rate: dropout }).apply(x) as tf.SymbolicTensor
  const output = tf.layers
    .dense({
      name: 'predictions',
      units: numClasses,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed() })
    })
    .apply(x) as tf.SymbolicTensor
  return tf.model({ inputs: input, outputs: output, name: 'compact_cnn' })
}
