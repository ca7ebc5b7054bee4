// Custom, serialisable TF.js layers that AlexNet needs and tfjs-layers lacks.
//
// - LocalResponseNormalization: TF's tf.nn.local_response_normalization across channels,
//   sqr_sum[c] = sum_{k=c-r..c+r} x[k]^2, out = x / (bias + alpha * sqr_sum)^beta  (NHWC).
//   Note for exporters: ONNX LRN divides alpha by `size` (= 2r+1), so ONNX alpha = alpha * (2r+1).
// - GroupedConv2D: BVLC/Caffe grouped convolution: the input channels are cut into `groups` contiguous
//   slices, the kernel's output channels likewise, slice g of the input is convolved with slice g of the
//   kernel and the results are concatenated on the channel axis. Weights `kernel` [kh, kw, cin/groups,
//   filters] and `bias` [filters] — exactly the layout of bvlc_alexnet.npy's conv2/conv4/conv5.
//
// Configs hold plain numbers and strings only (the ONNX exporter reads getConfig()). Every process calls
// registerCustomLayers() before tf.loadLayersModel, or the model JSON names unknown classes.
import * as tf from '@tensorflow/tfjs'
import { registerBatchNormalization } from '../tfjs/kernels/batchNorm'
import { HardSigmoid, HardSwish, StochasticDepth } from './torchvision'

export type LayerArgs = ConstructorParameters<typeof tf.layers.Layer>[0]

export interface LrnConfig {
  /** Half-width r of the channel window [c - r, c + r]. */
  depthRadius: number
  alpha: number
  beta: number
  bias: number
}

/** The values of the AlexNet tutorial (myalexnet_forward: radius 2, alpha 2e-5, beta 0.75, bias 1). */
export const ALEXNET_LRN: LrnConfig = { depthRadius: 2, alpha: 2e-5, beta: 0.75, bias: 1 }

export class LocalResponseNormalization extends tf.layers.Layer {
  static className = 'LocalResponseNormalization'
  readonly depthRadius: number
  readonly alpha: number
  readonly beta: number
  readonly bias: number

  constructor(config: Partial<LrnConfig> & LayerArgs = {}) {
    super(config)
    this.depthRadius = config.depthRadius ?? ALEXNET_LRN.depthRadius
    this.alpha = config.alpha ?? ALEXNET_LRN.alpha
    this.beta = config.beta ?? ALEXNET_LRN.beta
    this.bias = config.bias ?? ALEXNET_LRN.bias
    if (!Number.isInteger(this.depthRadius) || this.depthRadius < 0) {
      throw new Error(
        `LocalResponseNormalization: depthRadius must be a non-negative integer, got ${this.depthRadius}`
      )
    }
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D
      // tfjs's LRN has the same semantics as TF's and has LRN/LRNGrad kernels on cpu, wasm and webgl.
      return tf.localResponseNormalization(x, this.depthRadius, this.bias, this.alpha, this.beta)
    })
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      depthRadius: this.depthRadius,
      alpha: this.alpha,
      beta: this.beta,
      bias: this.bias
    }
  }
}

/** Kernel initialisers a GroupedConv2D config may name (plain strings keep the config exporter-friendly). */
export type InitializerName = 'glorotUniform' | 'glorotNormal' | 'heNormal' | 'heUniform' | 'zeros' | 'ones'

function makeInitializer(
  name: InitializerName,
  seed: number | undefined
): ReturnType<typeof tf.initializers.zeros> {
  switch (name) {
    case 'glorotUniform':
      return tf.initializers.glorotUniform({ seed })
    case 'glorotNormal':
      return tf.initializers.glorotNormal({ seed })
    case 'heNormal':
      return tf.initializers.heNormal({ seed })
    case 'heUniform':
      return tf.initializers.heUniform({ seed })
    case 'zeros':
      return tf.initializers.zeros()
    case 'ones':
      return tf.initializers.ones()
    default:
      throw new Error(`Unknown initializer '${String(name)}'`)
  }
}

export interface GroupedConv2DConfig {
  filters: number
  kernelSize: number | [number, number]
  strides?: number | [number, number]
  padding?: 'same' | 'valid'
  groups?: number
  activation?: 'relu' | 'linear'
  useBias?: boolean
  kernelInitializer?: InitializerName
  biasInitializer?: InitializerName
  /** Seed of the kernel initialiser (reproducible models). */
  seed?: number
}

const pair = (v: number | [number, number]): [number, number] => (Array.isArray(v) ? [v[0], v[1]] : [v, v])

export class GroupedConv2D extends tf.layers.Layer {
  static className = 'GroupedConv2D'
  readonly filters: number
  readonly kernelSize: [number, number]
  readonly strides: [number, number]
  readonly padding: 'same' | 'valid'
  readonly groups: number
  readonly activation: 'relu' | 'linear'
  readonly useBias: boolean
  readonly kernelInitializer: InitializerName
  readonly biasInitializer: InitializerName
  readonly seed: number | undefined
  private kernel: tf.LayerVariable | null = null
  private biasWeight: tf.LayerVariable | null = null

  constructor(config: GroupedConv2DConfig & LayerArgs) {
    super(config)
    this.filters = config.filters
    this.kernelSize = pair(config.kernelSize)
    this.strides = pair(config.strides ?? 1)
    this.padding = config.padding ?? 'valid'
    this.groups = config.groups ?? 1
    this.activation = config.activation ?? 'linear'
    this.useBias = config.useBias ?? true
    this.kernelInitializer = config.kernelInitializer ?? 'glorotUniform'
    this.biasInitializer = config.biasInitializer ?? 'zeros'
    this.seed = config.seed
    if (!Number.isInteger(this.groups) || this.groups < 1)
      throw new Error(`GroupedConv2D: bad groups ${this.groups}`)
    if (this.filters % this.groups !== 0) {
      throw new Error(`GroupedConv2D: filters (${this.filters}) must be divisible by groups (${this.groups})`)
    }
    if (this.padding !== 'same' && this.padding !== 'valid') {
      throw new Error(`GroupedConv2D: padding must be 'same' or 'valid', got '${String(this.padding)}'`)
    }
    if (this.activation !== 'relu' && this.activation !== 'linear') {
      throw new Error(
        `GroupedConv2D: activation must be 'relu' or 'linear', got '${String(this.activation)}'`
      )
    }
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape
    const cin = shape[shape.length - 1]
    if (cin == null || cin % this.groups !== 0) {
      throw new Error(
        `GroupedConv2D '${this.name}': input channels (${cin}) not divisible by groups (${this.groups})`
      )
    }
    const [kh, kw] = this.kernelSize
    this.kernel = this.addWeight(
      'kernel',
      [kh, kw, cin / this.groups, this.filters],
      'float32',
      makeInitializer(this.kernelInitializer, this.seed)
    )
    if (this.useBias) {
      this.biasWeight = this.addWeight(
        'bias',
        [this.filters],
        'float32',
        makeInitializer(this.biasInitializer, undefined)
      )
    }
    this.built = true
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape
    const out = (size: number | null, k: number, s: number): number | null => {
      if (size == null) return null
      return this.padding === 'same' ? Math.ceil(size / s) : Math.ceil((size - k + 1) / s)
    }
    return [
      shape[0],
      out(shape[1], this.kernelSize[0], this.strides[0]),
      out(shape[2], this.kernelSize[1], this.strides[1]),
      this.filters
    ]
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D
      const kernel = this.kernel!.read() as tf.Tensor4D
      const bias = this.biasWeight ? (this.biasWeight.read() as tf.Tensor1D) : undefined
      const conv = (xi: tf.Tensor4D, ki: tf.Tensor4D, bi: tf.Tensor1D | undefined): tf.Tensor4D =>
        // The fused op (conv + bias + relu in one kernel) is much faster on wasm and has a gradient.
        tf.fused.conv2d({
          x: xi,
          filter: ki,
          strides: this.strides,
          pad: this.padding,
          bias: bi,
          activation: this.activation
        })
      if (this.groups === 1) return conv(x, kernel, bias)
      const xs = tf.split(x, this.groups, 3)
      const ks = tf.split(kernel, this.groups, 3)
      const bs = bias ? tf.split(bias, this.groups, 0) : undefined
      return tf.concat(
        xs.map((xi, g) => conv(xi as tf.Tensor4D, ks[g] as tf.Tensor4D, bs?.[g] as tf.Tensor1D | undefined)),
        3
      )
    })
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      ...super.getConfig(),
      filters: this.filters,
      kernelSize: [...this.kernelSize],
      strides: [...this.strides],
      padding: this.padding,
      groups: this.groups,
      activation: this.activation,
      useBias: this.useBias,
      kernelInitializer: this.kernelInitializer,
      biasInitializer: this.biasInitializer
    }
    if (this.seed !== undefined) config.seed = this.seed
    return config
  }
}

let registered = false

/** Registers the custom layer classes with tfjs serialisation. Idempotent; call before loading a model. */
export function registerCustomLayers(): void {
  if (registered) return
  tf.serialization.registerClass(LocalResponseNormalization)
  tf.serialization.registerClass(GroupedConv2D)
  // torchvision's MobileNetV3 and EfficientNet layers (./torchvision.ts).
  tf.serialization.registerClass(HardSwish)
  tf.serialization.registerClass(HardSigmoid)
  tf.serialization.registerClass(StochasticDepth)
  registerBatchNormalization()
  registered = true
}
