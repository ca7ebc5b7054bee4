// torchvision 0.14's classifiers as plain data: each architecture is a list of nodes (conv, batch norm,
// activation, pooling, linear, add, ...) named after the PyTorch module that holds the weights, with the
// shape of every output. Written from torchvision's own definitions (models/alexnet.py, resnet.py,
// mobilenetv2.py, mobilenetv3.py, efficientnet.py and ops/misc.py), including their quirks:
//   - padding is PyTorch's symmetric (kernel - 1) / 2 (AlexNet's conv1: 2, ResNet's stem: 3 and a padded
//     max pool), never TF's asymmetric 'same' at stride 2;
//   - batch-norm epsilon 1e-5 and momentum 0.1 (PyTorch's defaults) except MobileNetV3 (1e-3, 0.01);
//     EfficientNet-B0 keeps the defaults (only B5-B7 and V2 change epsilon);
//   - channel counts rounded by `_make_divisible` where torchvision rounds (MobileNetV3, EfficientNet),
//     MobileNetV2's hidden width by round(inp * t);
//   - fresh weights drawn as torchvision initialises them (per architecture; see `Init`).
// TF-free, so base checks and the state-dict validation run without loading TF.js; build.ts turns a spec
// into a tf.LayersModel. Reused modules (ResNet's `relu`, applied two or three times per block) get
// `<name>`, `<name>_2`, `<name>_3`; nodes without a module (residual adds, padding) get a suffix name.

// The list is part of the IPC contract (a base's architecture), so it lives in src/shared.
import { TORCHVISION_ARCHS, type TorchvisionArch } from '../../../../shared/training'
export { TORCHVISION_ARCHS, type TorchvisionArch }

export function isTorchvisionArch(name: string): name is TorchvisionArch {
  return (TORCHVISION_ARCHS as readonly string[]).includes(name)
}

/**
 * What every torchvision classifier expects: RGB scaled to [0, 1], then (x - mean) / std per channel, at
 * 224 x 224 (ImageNet statistics; torchvision's ImageClassification preset). The caller applies it.
 */
export const TORCHVISION_PREPROCESSING = {
  inputSize: 224,
  channelOrder: 'RGB',
  /** Multiply the 0..255 pixels by this first. */
  scale: 1 / 255,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  resize: 'bilinear'
} as const

/**
 * Input side per architecture: torchvision's ImageClassification presets crop to 224 for all of these
 * (AlexNet included; its 227 is the Caffe model's, see ../alexnet.ts).
 */
export const TORCHVISION_INPUT_SIZE: Record<TorchvisionArch, number> = {
  alexnet: 224,
  resnet18: 224,
  resnet50: 224,
  mobilenet_v2: 224,
  mobilenet_v3_large: 224,
  mobilenet_v3_small: 224,
  efficientnet_b0: 224
}

export type Activation = 'relu' | 'relu6' | 'hardswish' | 'hardsigmoid' | 'silu' | 'sigmoid'

/** A fresh-weight distribution: torch's normal_ (not truncated), uniform_(-limit, limit), or a constant. */
export type Init = { normal: number } | { uniform: number } | 'zeros'

interface Named {
  /** Layer name; the PyTorch module path for nodes that hold weights. */
  name: string
}
interface Unary extends Named {
  input: string
}

export interface ConvNode extends Unary {
  op: 'conv'
  inChannels: number
  outChannels: number
  kernel: number
  stride: number
  /** Zero padding on every side (PyTorch's `padding`). */
  padding: number
  groups: number
  bias: boolean
  weightInit: Init
  biasInit: Init
}
export interface BatchNormNode extends Unary {
  op: 'batchnorm'
  channels: number
  epsilon: number
  /** PyTorch's momentum (weight of the new batch); Keras's is 1 - this. */
  momentum: number
}
export interface ActivationNode extends Unary {
  op: 'activation'
  fn: Activation
}
export interface MaxPoolNode extends Unary {
  op: 'maxpool'
  kernel: number
  stride: number
  padding: number
}
/** AdaptiveAvgPool2d(size) where the input side is a multiple of `size` (a plain pool; identity if equal). */
export interface AdaptivePoolNode extends Unary {
  op: 'adaptiveavgpool'
  size: number
}
/** AdaptiveAvgPool2d(1): [H, W, C] -> [C], or [1, 1, C] with keepDims (squeeze-excitation). */
export interface GlobalPoolNode extends Unary {
  op: 'globalavgpool'
  keepDims: boolean
}
export interface FlattenNode extends Unary {
  op: 'flatten'
}
export interface LinearNode extends Unary {
  op: 'linear'
  inFeatures: number
  outFeatures: number
  /** When the input is a flattened [C, H, W] map with H * W > 1: its shape, for reordering the weight rows. */
  flattenedChw?: [number, number, number]
  weightInit: Init
  biasInit: Init
}
export interface DropoutNode extends Unary {
  op: 'dropout'
  rate: number
}
/** torchvision.ops.StochasticDepth(p, 'row'): drops whole samples in training, identity at inference. */
export interface StochasticDepthNode extends Unary {
  op: 'stochasticdepth'
  rate: number
}
export interface MergeNode extends Named {
  op: 'add' | 'multiply'
  inputs: [string, string]
}

export type SpecNode =
  | ConvNode
  | BatchNormNode
  | ActivationNode
  | MaxPoolNode
  | AdaptivePoolNode
  | GlobalPoolNode
  | FlattenNode
  | LinearNode
  | DropoutNode
  | StochasticDepthNode
  | MergeNode

export interface ArchSpec {
  arch: TorchvisionArch
  inputSize: number
  numClasses: number
  /** In topological order; the graph input is called 'input'. */
  nodes: SpecNode[]
  /** Output shape (no batch) of every node and of 'input': [H, W, C] or [features]. */
  shapes: Map<string, number[]>
  /** The last Linear layer (the classifier head); its input is the "features". */
  head: string
  featureDim: number
}

export interface SpecOptions {
  numClasses?: number
  /** Square input side; default 224. AlexNet needs one that leaves a multiple of 6 before its avgpool. */
  inputSize?: number
}

/** torchvision.models._utils._make_divisible: round to a multiple of `divisor`, never down by more than 10 %. */
export function makeDivisible(v: number, divisor: number, minValue?: number): number {
  const min = minValue ?? divisor
  let newV = Math.max(min, Math.floor(Math.floor(v + divisor / 2) / divisor) * divisor)
  if (newV < 0.9 * v) newV += divisor
  return newV
}

// torchvision's initialisers, as std or limit.
/** nn.init.kaiming_normal_(mode='fan_out') with the ReLU gain: std sqrt(2 / (out * k * k)). */
const kaimingFanOut = (out: number, k: number): Init => ({ normal: Math.sqrt(2 / (out * k * k)) })
/** PyTorch's default for Conv2d / Linear weights and biases: U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
const torchDefault = (fanIn: number): Init => ({ uniform: 1 / Math.sqrt(fanIn) })

class SpecBuilder {
  readonly nodes: SpecNode[] = []
  readonly shapes = new Map<string, number[]>()
  private readonly uses = new Map<string, number>()

  constructor(
    readonly arch: TorchvisionArch,
    inputSize: number
  ) {
    this.shapes.set('input', [inputSize, inputSize, 3])
  }

  shape(id: string): number[] {
    const s = this.shapes.get(id)
    if (!s) throw new Error(`${this.arch}: no node '${id}'`)
    return s
  }

  /** A module name, suffixed `_2`, `_3` ... when the same torch module is applied again. */
  private unique(name: string): string {
    const n = (this.uses.get(name) ?? 0) + 1
    this.uses.set(name, n)
    return n === 1 ? name : `${name}_${n}`
  }

  private push(node: SpecNode, shape: number[]): string {
    if (this.shapes.has(node.name)) throw new Error(`${this.arch}: duplicate node '${node.name}'`)
    if (shape.some((d) => !(d >= 1))) {
      throw new Error(
        `${this.arch}: input too small, '${node.name}' would be [${shape.join(', ')}]; use a larger inputSize`
      )
    }
    this.nodes.push(node)
    this.shapes.set(node.name, shape)
    return node.name
  }

  private spatial(input: string): [number, number, number] {
    const s = this.shape(input)
    if (s.length !== 3) throw new Error(`${this.arch}: '${input}' is not a feature map`)
    return [s[0], s[1], s[2]]
  }

  conv(
    name: string,
    input: string,
    o: {
      out: number
      kernel: number
      stride?: number
      padding?: number
      groups?: number
      bias?: boolean
      weightInit: Init
      biasInit?: Init
    }
  ): string {
    const [h, w, cin] = this.spatial(input)
    const stride = o.stride ?? 1
    const padding = o.padding ?? (o.kernel - 1) / 2
    const groups = o.groups ?? 1
    if (cin % groups !== 0 || o.out % groups !== 0)
      throw new Error(`${this.arch}: '${name}' channels not divisible by groups ${groups}`)
    const side = (n: number) => Math.floor((n + 2 * padding - o.kernel) / stride) + 1
    return this.push(
      {
        op: 'conv',
        name,
        input,
        inChannels: cin,
        outChannels: o.out,
        kernel: o.kernel,
        stride,
        padding,
        groups,
        bias: o.bias ?? false,
        weightInit: o.weightInit,
        biasInit: o.biasInit ?? 'zeros'
      },
      [side(h), side(w), o.out]
    )
  }

  bn(name: string, input: string, epsilon: number, momentum: number): string {
    const s = this.spatial(input)
    return this.push({ op: 'batchnorm', name, input, channels: s[2], epsilon, momentum }, s)
  }

  act(name: string, input: string, fn: Activation): string {
    return this.push({ op: 'activation', name: this.unique(name), input, fn }, this.shape(input))
  }

  maxpool(name: string, input: string, kernel: number, stride: number, padding = 0): string {
    const prev = this.nodes.find((n) => n.name === input)
    // build.ts pads with zeros, which equals PyTorch's -inf padding only on non-negative inputs.
    if (padding > 0 && !(prev?.op === 'activation' && (prev.fn === 'relu' || prev.fn === 'relu6')))
      throw new Error(`${this.arch}: padded max pool '${name}' must follow a ReLU`)
    const [h, w, c] = this.spatial(input)
    const side = (n: number) => Math.floor((n + 2 * padding - kernel) / stride) + 1
    return this.push({ op: 'maxpool', name, input, kernel, stride, padding }, [side(h), side(w), c])
  }

  adaptivePool(name: string, input: string, size: number): string {
    const [h, w, c] = this.spatial(input)
    if (h !== w || h % size !== 0) {
      throw new Error(
        `${this.arch}: the input gives a ${h}x${w} map before '${name}'; AdaptiveAvgPool2d(${size}) is ` +
          `supported when the side is a multiple of ${size} (inputSize 224 gives ${size})`
      )
    }
    return this.push({ op: 'adaptiveavgpool', name, input, size }, [size, size, c])
  }

  globalPool(name: string, input: string, keepDims = false): string {
    const c = this.spatial(input)[2]
    return this.push({ op: 'globalavgpool', name, input, keepDims }, keepDims ? [1, 1, c] : [c])
  }

  flatten(name: string, input: string): string {
    const s = this.shape(input)
    return this.push({ op: 'flatten', name, input }, [s.reduce((a, b) => a * b, 1)])
  }

  linear(name: string, input: string, out: number, weightInit: Init, biasInit: Init): string {
    const s = this.shape(input)
    if (s.length !== 1) throw new Error(`${this.arch}: Linear '${name}' needs a flat input`)
    // Through dropout (identity at inference; AlexNet's classifier.0) to the flatten, if any.
    let prev = this.nodes.find((n) => n.name === input)
    while (prev?.op === 'dropout') {
      const from: string = prev.input
      prev = this.nodes.find((n) => n.name === from)
    }
    let flattenedChw: [number, number, number] | undefined
    if (prev?.op === 'flatten') {
      const [h, w, c] = this.spatial(prev.input)
      if (h * w > 1) flattenedChw = [c, h, w]
    }
    const node: LinearNode = {
      op: 'linear',
      name,
      input,
      inFeatures: s[0],
      outFeatures: out,
      weightInit,
      biasInit
    }
    if (flattenedChw) node.flattenedChw = flattenedChw
    return this.push(node, [out])
  }

  dropout(name: string, input: string, rate: number): string {
    return this.push({ op: 'dropout', name, input, rate }, this.shape(input))
  }

  stochasticDepth(name: string, input: string, rate: number): string {
    return this.push({ op: 'stochasticdepth', name, input, rate }, this.shape(input))
  }

  merge(op: 'add' | 'multiply', name: string, a: string, b: string): string {
    const [sa, sb] = [this.shape(a), this.shape(b)]
    const out = sa.map((d, i) => Math.max(d, sb[i]))
    if (sa.length !== sb.length || sa.some((d, i) => d !== sb[i] && d !== 1 && sb[i] !== 1))
      throw new Error(`${this.arch}: '${name}' cannot ${op} [${sa.join(', ')}] and [${sb.join(', ')}]`)
    return this.push({ op, name, inputs: [a, b] }, out)
  }

  /** torchvision.ops.misc.Conv2dNormActivation: `<prefix>.0` conv, `.1` batch norm, `.2` activation. */
  convNormAct(
    prefix: string,
    input: string,
    o: {
      out: number
      kernel?: number
      stride?: number
      groups?: number
      act: Activation | null
      epsilon: number
      momentum: number
    }
  ): string {
    const kernel = o.kernel ?? 3
    let x = this.conv(`${prefix}.0`, input, {
      out: o.out,
      kernel,
      stride: o.stride,
      groups: o.groups,
      weightInit: kaimingFanOut(o.out, kernel)
    })
    x = this.bn(`${prefix}.1`, x, o.epsilon, o.momentum)
    return o.act ? this.act(`${prefix}.2`, x, o.act) : x
  }

  /** torchvision.ops.misc.SqueezeExcitation: x * scale(fc2(act(fc1(avgpool(x))))), fc1/fc2 1x1 convs. */
  squeezeExcitation(
    prefix: string,
    input: string,
    squeeze: number,
    act: Activation,
    scale: Activation
  ): string {
    const c = this.spatial(input)[2]
    let s = this.globalPool(`${prefix}.avgpool`, input, true)
    s = this.conv(`${prefix}.fc1`, s, {
      out: squeeze,
      kernel: 1,
      bias: true,
      weightInit: kaimingFanOut(squeeze, 1)
    })
    s = this.act(`${prefix}.activation`, s, act)
    s = this.conv(`${prefix}.fc2`, s, { out: c, kernel: 1, bias: true, weightInit: kaimingFanOut(c, 1) })
    s = this.act(`${prefix}.scale_activation`, s, scale)
    return this.merge('multiply', `${prefix}.mul`, s, input)
  }

  finish(head: string, numClasses: number, inputSize: number): ArchSpec {
    const headNode = this.nodes.find((n) => n.name === head)
    if (headNode?.op !== 'linear') throw new Error(`${this.arch}: head '${head}' is not a Linear node`)
    return {
      arch: this.arch,
      inputSize,
      numClasses,
      nodes: this.nodes,
      shapes: this.shapes,
      head,
      featureDim: headNode.inFeatures
    }
  }
}

const PT_BN = { epsilon: 1e-5, momentum: 0.1 }

function alexnet(b: SpecBuilder, numClasses: number): string {
  const conv = (name: string, x: string, out: number, kernel: number, stride: number, padding: number) => {
    const fanIn = b.shape(x)[2] * kernel * kernel
    // AlexNet keeps PyTorch's default init (no loop over modules in its constructor).
    return b.conv(name, x, {
      out,
      kernel,
      stride,
      padding,
      bias: true,
      weightInit: torchDefault(fanIn),
      biasInit: torchDefault(fanIn)
    })
  }
  let x = b.act('features.1', conv('features.0', 'input', 64, 11, 4, 2), 'relu')
  x = b.maxpool('features.2', x, 3, 2)
  x = b.act('features.4', conv('features.3', x, 192, 5, 1, 2), 'relu')
  x = b.maxpool('features.5', x, 3, 2)
  x = b.act('features.7', conv('features.6', x, 384, 3, 1, 1), 'relu')
  x = b.act('features.9', conv('features.8', x, 256, 3, 1, 1), 'relu')
  x = b.act('features.11', conv('features.10', x, 256, 3, 1, 1), 'relu')
  x = b.maxpool('features.12', x, 3, 2)
  x = b.adaptivePool('avgpool', x, 6)
  x = b.flatten('flatten', x)
  const linear = (name: string, x: string, out: number) => {
    const fanIn = b.shape(x)[0]
    return b.linear(name, x, out, torchDefault(fanIn), torchDefault(fanIn))
  }
  x = b.dropout('classifier.0', x, 0.5)
  x = b.act('classifier.2', linear('classifier.1', x, 4096), 'relu')
  x = b.dropout('classifier.3', x, 0.5)
  x = b.act('classifier.5', linear('classifier.4', x, 4096), 'relu')
  return linear('classifier.6', x, numClasses)
}

function resnet(b: SpecBuilder, numClasses: number, bottleneck: boolean, blocks: number[]): string {
  const { epsilon, momentum } = PT_BN
  const conv = (name: string, x: string, out: number, kernel: number, stride = 1) =>
    b.conv(name, x, { out, kernel, stride, weightInit: kaimingFanOut(out, kernel) })
  let x = b.bn('bn1', conv('conv1', 'input', 64, 7, 2), epsilon, momentum)
  x = b.maxpool('maxpool', b.act('relu', x, 'relu'), 3, 2, 1)
  const expansion = bottleneck ? 4 : 1
  let inplanes = 64
  blocks.forEach((n, li) => {
    const planes = 64 * 2 ** li
    for (let i = 0; i < n; i++) {
      const p = `layer${li + 1}.${i}`
      const stride = i === 0 && li > 0 ? 2 : 1
      let y: string
      // torchvision's Bottleneck (V1.5) strides in the 3x3 conv2, not in conv1.
      if (bottleneck) {
        y = b.act(`${p}.relu`, b.bn(`${p}.bn1`, conv(`${p}.conv1`, x, planes, 1), epsilon, momentum), 'relu')
        y = b.act(
          `${p}.relu`,
          b.bn(`${p}.bn2`, conv(`${p}.conv2`, y, planes, 3, stride), epsilon, momentum),
          'relu'
        )
        y = b.bn(`${p}.bn3`, conv(`${p}.conv3`, y, planes * 4, 1), epsilon, momentum)
      } else {
        y = b.act(
          `${p}.relu`,
          b.bn(`${p}.bn1`, conv(`${p}.conv1`, x, planes, 3, stride), epsilon, momentum),
          'relu'
        )
        y = b.bn(`${p}.bn2`, conv(`${p}.conv2`, y, planes, 3), epsilon, momentum)
      }
      let identity = x
      if (i === 0 && (stride !== 1 || inplanes !== planes * expansion)) {
        identity = conv(`${p}.downsample.0`, x, planes * expansion, 1, stride)
        identity = b.bn(`${p}.downsample.1`, identity, epsilon, momentum)
      }
      x = b.act(`${p}.relu`, b.merge('add', `${p}.add`, y, identity), 'relu')
      inplanes = planes * expansion
    }
  })
  x = b.globalPool('avgpool', x)
  const fanIn = b.shape(x)[0]
  return b.linear('fc', x, numClasses, torchDefault(fanIn), torchDefault(fanIn))
}

function mobilenetV2(b: SpecBuilder, numClasses: number): string {
  const bn = { ...PT_BN }
  let x = b.convNormAct('features.0', 'input', { out: 32, stride: 2, act: 'relu6', ...bn })
  let inp = 32
  let index = 1
  const setting = [
    [1, 16, 1, 1],
    [6, 24, 2, 2],
    [6, 32, 3, 2],
    [6, 64, 4, 2],
    [6, 96, 3, 1],
    [6, 160, 3, 2],
    [6, 320, 1, 1]
  ]
  for (const [t, c, n, s] of setting) {
    const out = makeDivisible(c, 8)
    for (let i = 0; i < n; i++) {
      const stride = i === 0 ? s : 1
      const p = `features.${index++}.conv`
      const hidden = Math.round(inp * t)
      let y = x
      let j = 0
      if (t !== 1) y = b.convNormAct(`${p}.${j++}`, y, { out: hidden, kernel: 1, act: 'relu6', ...bn })
      y = b.convNormAct(`${p}.${j++}`, y, { out: hidden, stride, groups: hidden, act: 'relu6', ...bn })
      y = b.conv(`${p}.${j++}`, y, { out, kernel: 1, weightInit: kaimingFanOut(out, 1) })
      y = b.bn(`${p}.${j++}`, y, bn.epsilon, bn.momentum)
      x = stride === 1 && inp === out ? b.merge('add', `features.${index - 1}.add`, x, y) : y
      inp = out
    }
  }
  x = b.convNormAct(`features.${index}`, x, { out: 1280, kernel: 1, act: 'relu6', ...bn })
  // torchvision calls nn.functional.adaptive_avg_pool2d here (no module); named like the others.
  x = b.globalPool('avgpool', x)
  x = b.dropout('classifier.0', x, 0.2)
  return b.linear('classifier.1', x, numClasses, { normal: 0.01 }, 'zeros')
}

/** [input, kernel, expanded, out, SE, activation ('RE' | 'HS'), stride] per block, as in _mobilenet_v3_conf. */
type V3Block = [number, number, number, number, boolean, 'RE' | 'HS', number]

const V3_LARGE: V3Block[] = [
  [16, 3, 16, 16, false, 'RE', 1],
  [16, 3, 64, 24, false, 'RE', 2],
  [24, 3, 72, 24, false, 'RE', 1],
  [24, 5, 72, 40, true, 'RE', 2],
  [40, 5, 120, 40, true, 'RE', 1],
  [40, 5, 120, 40, true, 'RE', 1],
  [40, 3, 240, 80, false, 'HS', 2],
  [80, 3, 200, 80, false, 'HS', 1],
  [80, 3, 184, 80, false, 'HS', 1],
  [80, 3, 184, 80, false, 'HS', 1],
  [80, 3, 480, 112, true, 'HS', 1],
  [112, 3, 672, 112, true, 'HS', 1],
  [112, 5, 672, 160, true, 'HS', 2],
  [160, 5, 960, 160, true, 'HS', 1],
  [160, 5, 960, 160, true, 'HS', 1]
]
const V3_SMALL: V3Block[] = [
  [16, 3, 16, 16, true, 'RE', 2],
  [16, 3, 72, 24, false, 'RE', 2],
  [24, 3, 88, 24, false, 'RE', 1],
  [24, 5, 96, 40, true, 'HS', 2],
  [40, 5, 240, 40, true, 'HS', 1],
  [40, 5, 240, 40, true, 'HS', 1],
  [40, 5, 120, 48, true, 'HS', 1],
  [48, 5, 144, 48, true, 'HS', 1],
  [48, 5, 288, 96, true, 'HS', 2],
  [96, 5, 576, 96, true, 'HS', 1],
  [96, 5, 576, 96, true, 'HS', 1]
]

function mobilenetV3(b: SpecBuilder, numClasses: number, setting: V3Block[], lastChannel: number): string {
  // MobileNetV3's norm_layer: partial(nn.BatchNorm2d, eps=0.001, momentum=0.01).
  const bn = { epsilon: 1e-3, momentum: 0.01 }
  const ch = (c: number) => makeDivisible(c, 8)
  let x = b.convNormAct('features.0', 'input', { out: ch(setting[0][0]), stride: 2, act: 'hardswish', ...bn })
  setting.forEach(([input, kernel, expanded, output, se, nl, stride], i) => {
    const [cin, exp, out] = [ch(input), ch(expanded), ch(output)]
    const act: Activation = nl === 'HS' ? 'hardswish' : 'relu'
    const p = `features.${i + 1}.block`
    let j = 0
    let y = x
    if (exp !== cin) y = b.convNormAct(`${p}.${j++}`, y, { out: exp, kernel: 1, act, ...bn })
    y = b.convNormAct(`${p}.${j++}`, y, { out: exp, kernel, stride, groups: exp, act, ...bn })
    if (se)
      y = b.squeezeExcitation(`${p}.${j++}`, y, makeDivisible(Math.floor(exp / 4), 8), 'relu', 'hardsigmoid')
    y = b.convNormAct(`${p}.${j++}`, y, { out, kernel: 1, act: null, ...bn })
    x = stride === 1 && cin === out ? b.merge('add', `features.${i + 1}.add`, y, x) : y
  })
  const lastIn = ch(setting[setting.length - 1][3])
  x = b.convNormAct(`features.${setting.length + 1}`, x, {
    out: 6 * lastIn,
    kernel: 1,
    act: 'hardswish',
    ...bn
  })
  x = b.globalPool('avgpool', x)
  x = b.act('classifier.1', b.linear('classifier.0', x, lastChannel, { normal: 0.01 }, 'zeros'), 'hardswish')
  x = b.dropout('classifier.2', x, 0.2)
  return b.linear('classifier.3', x, numClasses, { normal: 0.01 }, 'zeros')
}

function efficientnetB0(b: SpecBuilder, numClasses: number): string {
  // EfficientNet-B0 passes no norm_layer: nn.BatchNorm2d's defaults (eps 1e-5, momentum 0.1).
  const bn = { ...PT_BN }
  // [expand_ratio, kernel, stride, input, out, layers] (_efficientnet_conf, width and depth multipliers 1).
  const setting = [
    [1, 3, 1, 32, 16, 1],
    [6, 3, 2, 16, 24, 2],
    [6, 5, 2, 24, 40, 2],
    [6, 3, 2, 40, 80, 3],
    [6, 5, 1, 80, 112, 3],
    [6, 5, 2, 112, 192, 4],
    [6, 3, 1, 192, 320, 1]
  ]
  const ch = (c: number) => makeDivisible(c, 8)
  const total = setting.reduce((a, s) => a + s[5], 0)
  let x = b.convNormAct('features.0', 'input', { out: ch(setting[0][3]), stride: 2, act: 'silu', ...bn })
  let blockId = 0
  setting.forEach(([ratio, kernel, stageStride, input, output, layers], si) => {
    for (let i = 0; i < layers; i++) {
      const cin = i === 0 ? ch(input) : ch(output)
      const out = ch(output)
      const stride = i === 0 ? stageStride : 1
      const exp = makeDivisible(cin * ratio, 8)
      const p = `features.${si + 1}.${i}`
      let j = 0
      let y = x
      if (exp !== cin) y = b.convNormAct(`${p}.block.${j++}`, y, { out: exp, kernel: 1, act: 'silu', ...bn })
      y = b.convNormAct(`${p}.block.${j++}`, y, { out: exp, kernel, stride, groups: exp, act: 'silu', ...bn })
      y = b.squeezeExcitation(`${p}.block.${j++}`, y, Math.max(1, Math.floor(cin / 4)), 'silu', 'sigmoid')
      y = b.convNormAct(`${p}.block.${j++}`, y, { out, kernel: 1, act: null, ...bn })
      if (stride === 1 && cin === out) {
        // stochastic_depth_prob 0.2, scaled by the block's position (float(stage_block_id) / total).
        y = b.stochasticDepth(`${p}.stochastic_depth`, y, (0.2 * blockId) / total)
        y = b.merge('add', `${p}.add`, y, x)
      }
      x = y
      blockId++
    }
  })
  x = b.convNormAct(`features.${setting.length + 1}`, x, { out: 4 * ch(320), kernel: 1, act: 'silu', ...bn })
  x = b.globalPool('avgpool', x)
  x = b.dropout('classifier.0', x, 0.2)
  // EfficientNet's Linear init: U(-1/sqrt(out_features), 1/sqrt(out_features)), zero bias.
  return b.linear('classifier.1', x, numClasses, { uniform: 1 / Math.sqrt(numClasses) }, 'zeros')
}

/** Parameter counts of torchvision's 1000-class models (their weights' "num_params"). */
export const TORCHVISION_PARAMS: Record<TorchvisionArch, number> = {
  alexnet: 61_100_840,
  resnet18: 11_689_512,
  resnet50: 25_557_032,
  mobilenet_v2: 3_504_872,
  mobilenet_v3_large: 5_483_032,
  mobilenet_v3_small: 2_542_856,
  efficientnet_b0: 5_288_548
}

/** The architecture's graph for `numClasses` outputs (default 1000) at `inputSize` (default 224). */
export function torchvisionSpec(arch: TorchvisionArch, options: SpecOptions = {}): ArchSpec {
  if (!isTorchvisionArch(arch)) throw new Error(`Unknown torchvision architecture '${String(arch)}'`)
  const numClasses = options.numClasses ?? 1000
  const inputSize = options.inputSize ?? TORCHVISION_INPUT_SIZE[arch]
  if (!Number.isInteger(numClasses) || numClasses < 1)
    throw new Error(`${arch}: numClasses must be a positive integer, got ${numClasses}`)
  if (!Number.isInteger(inputSize) || inputSize < 1)
    throw new Error(`${arch}: inputSize must be a positive integer, got ${inputSize}`)
  const b = new SpecBuilder(arch, inputSize)
  let head: string
  switch (arch) {
    case 'alexnet':
      head = alexnet(b, numClasses)
      break
    case 'resnet18':
      head = resnet(b, numClasses, false, [2, 2, 2, 2])
      break
    case 'resnet50':
      head = resnet(b, numClasses, true, [3, 4, 6, 3])
      break
    case 'mobilenet_v2':
      head = mobilenetV2(b, numClasses)
      break
    case 'mobilenet_v3_large':
      head = mobilenetV3(b, numClasses, V3_LARGE, makeDivisible(1280, 8))
      break
    case 'mobilenet_v3_small':
      head = mobilenetV3(b, numClasses, V3_SMALL, makeDivisible(1024, 8))
      break
    case 'efficientnet_b0':
      head = efficientnetB0(b, numClasses)
      break
  }
  return b.finish(head, numClasses, inputSize)
}

/** The tensors of one node in PyTorch's naming and layout, in state_dict() order. */
export function nodeTensors(node: SpecNode): { name: string; shape: number[] }[] {
  switch (node.op) {
    case 'conv': {
      const w = {
        name: `${node.name}.weight`,
        shape: [node.outChannels, node.inChannels / node.groups, node.kernel, node.kernel]
      }
      return node.bias ? [w, { name: `${node.name}.bias`, shape: [node.outChannels] }] : [w]
    }
    case 'batchnorm':
      return ['weight', 'bias', 'running_mean', 'running_var'].map((t) => ({
        name: `${node.name}.${t}`,
        shape: [node.channels]
      }))
    case 'linear':
      return [
        { name: `${node.name}.weight`, shape: [node.outFeatures, node.inFeatures] },
        { name: `${node.name}.bias`, shape: [node.outFeatures] }
      ]
    default:
      return []
  }
}

/** Every tensor of torchvision's state_dict() (without num_batches_tracked), name -> shape, in order. */
export function expectedStateDict(spec: ArchSpec): Map<string, number[]> {
  const out = new Map<string, number[]>()
  for (const node of spec.nodes) for (const t of nodeTensors(node)) out.set(t.name, t.shape)
  return out
}

/** Trainable parameters (what torchvision's num_params counts: not the running statistics). */
export function parameterCount(spec: ArchSpec): number {
  let n = 0
  for (const node of spec.nodes)
    for (const t of nodeTensors(node))
      if (!t.name.endsWith('.running_mean') && !t.name.endsWith('.running_var'))
        n += t.shape.reduce((a, b) => a * b, 1)
  return n
}
