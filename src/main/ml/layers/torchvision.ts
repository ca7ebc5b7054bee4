// The layers torchvision's classifiers need and tfjs-layers lacks, with PyTorch's semantics:
//   HardSwish      x * relu6(x + 3) / 6                 (nn.Hardswish; ONNX HardSwish)
//   HardSigmoid    relu6(x + 3) / 6                     (nn.Hardsigmoid; ONNX HardSigmoid with alpha 1/6,
//                                                        beta 0.5 -- not Keras's hard_sigmoid, 0.2 x + 0.5)
//   StochasticDepth  torchvision.ops.StochasticDepth(p, 'row'): in training each sample's branch is kept with
//                  probability 1 - p and scaled by 1 / (1 - p); at inference the identity.
// SiLU is tfjs's 'swish' activation (x * sigmoid(x)), ReLU6 its 'relu6'; they need no layer here.
// All are built from differentiable tf ops, so they train. Configs hold plain numbers only.
// registerCustomLayers() (./index.ts) registers them with the studio's other layers, so every process that
// loads a saved model (training, gradient and inference workers) knows them.
import * as tf from '@tensorflow/tfjs'

type LayerArgs = ConstructorParameters<typeof tf.layers.Layer>[0]

const first = (inputs: tf.Tensor | tf.Tensor[]): tf.Tensor => (Array.isArray(inputs) ? inputs[0] : inputs)

export class HardSwish extends tf.layers.Layer {
  static className = 'HardSwish'

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = first(inputs)
      return tf.mul(x, tf.div(tf.relu6(tf.add(x, 3)), 6))
    })
  }
}

export class HardSigmoid extends tf.layers.Layer {
  static className = 'HardSigmoid'

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => tf.div(tf.relu6(tf.add(first(inputs), 3)), 6))
  }
}

export interface StochasticDepthConfig {
  /** Probability of dropping a sample's branch in training. */
  rate: number
}

export class StochasticDepth extends tf.layers.Layer {
  static className = 'StochasticDepth'
  readonly rate: number

  constructor(config: StochasticDepthConfig & LayerArgs) {
    super(config)
    this.rate = config.rate
    if (!(this.rate >= 0 && this.rate < 1))
      throw new Error(`StochasticDepth: rate must be in [0, 1), got ${this.rate}`)
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = first(inputs)
    if (kwargs.training !== true || this.rate === 0) return x
    return tf.tidy(() => {
      const keep = 1 - this.rate
      // Unseeded on purpose: a seeded draw would drop the same samples at every step.
      const noiseShape = [x.shape[0], ...x.shape.slice(1).map(() => 1)]
      const mask = tf.floor(tf.add(tf.randomUniform(noiseShape), keep))
      return tf.mul(x, tf.div(mask, keep))
    })
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate }
  }
}
