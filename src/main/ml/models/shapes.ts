// AlexNet's and the compact CNN's sizes without TF.js: the weight shapes per layer (the BVLC layout), the
// spatial size after each stage, and the multiply-accumulates of a forward pass. Base checks and run
// estimates run on the backend's event loop, so they use this module and never load the TF.js model code;
// alexnet.ts builds the network from the same numbers.
import type { ModelSpec } from '../../../shared/training'
import { torchvisionSpec } from './torchvision/spec'

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

export interface ResolvedAlexNet {
  numClasses: number
  inputSize: number
  filters: { conv1: number; conv2: number; conv3: number; conv4: number; conv5: number }
  fcUnits: number
  dropout: number
  includeLrn: boolean
  seed: number | undefined
}

/** The config with defaults applied and checked; filter counts per conv layer. */
export function resolveAlexNet(config: AlexNetConfig): ResolvedAlexNet {
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
  const r = resolveAlexNet(config)
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

/** Multiply-accumulates of one forward pass, split into the frozen base and the trained head. */
export interface ModelCost {
  /** Whole network, per image. */
  forward: number
  /** Up to fc7 (what feature extraction runs once per image). */
  base: number
  /** fc8 only (what feature extraction trains). */
  head: number
}

/**
 * MACs per image assumed for an ONNX base, per byte of its file: float32 weights (4 bytes a parameter) at
 * about 100 multiply-adds per parameter, the ratio of torchvision's ResNets at 224 px (ResNet-18: 1.8 G for
 * 11.7 M parameters, ResNet-50: 4.1 G for 25.6 M). The graph itself is not read on the event loop; an
 * estimate for an ONNX base is rough and says so.
 */
export const ONNX_MACS_PER_BYTE = 25
/** Feature width assumed for an ONNX base's head (ResNet-18's is 512, ResNet-50's 2048). */
const ONNX_FEATURES = 1024

/** Multiply-accumulates of a torchvision architecture from its definition (spec.ts): convs and linears. */
function torchvisionCost(model: ModelSpec, inputSize: number, numClasses: number): ModelCost {
  const spec = torchvisionSpec(model.backbone ?? 'resnet18', { numClasses, inputSize })
  let forward = 0
  let head = 0
  for (const node of spec.nodes) {
    if (node.op === 'conv') {
      const [h, w] = spec.shapes.get(node.name) ?? [0, 0]
      forward += h * w * node.outChannels * (node.inChannels / node.groups) * node.kernel * node.kernel
    } else if (node.op === 'linear') {
      const macs = node.inFeatures * node.outFeatures
      forward += macs
      if (node.name === spec.head) head = macs
    }
  }
  return { forward, base: forward - head, head }
}

/**
 * Multiply-accumulates per image of the model a config builds (conv and dense layers; the rest is small).
 * `onnxBytes`: the size of an ONNX base's file, the only thing known of its network here.
 */
export function modelCost(
  model: ModelSpec,
  inputSize: number,
  numClasses: number,
  onnxBytes?: number
): ModelCost {
  if (model.architecture === 'torchvision') {
    try {
      return torchvisionCost(model, inputSize, numClasses)
    } catch {
      // An input size the architecture cannot take (AlexNet's avgpool): the cost at its own size.
      return torchvisionCost(model, 224, numClasses)
    }
  }
  if (model.architecture === 'onnx') {
    const base = (onnxBytes ?? 45e6) * ONNX_MACS_PER_BYTE * (inputSize / 224) ** 2
    const head = ONNX_FEATURES * numClasses
    return { forward: base + head, base, head }
  }
  if (model.architecture === 'alexnet') {
    const shapes = alexnetWeightShapes({
      numClasses,
      inputSize,
      width: model.width ?? 1,
      fcUnits: model.fcUnits ?? 4096
    })
    const s = spatialSizes(inputSize)
    const prod = (a: number[]): number => a.reduce((x, y) => x * y, 1)
    const conv =
      s.conv1 ** 2 * prod(shapes.conv1[0]) +
      s.pool1 ** 2 * prod(shapes.conv2[0]) +
      s.pool2 ** 2 * (prod(shapes.conv3[0]) + prod(shapes.conv4[0]) + prod(shapes.conv5[0]))
    const base = conv + prod(shapes.fc6[0]) + prod(shapes.fc7[0])
    const head = prod(shapes.fc8[0])
    return { forward: base + head, base, head }
  }
  // The compact CNN as strategies.ts builds it: two 3x3 convs per block, pool, then dense layers.
  const channels = Math.max(2, Math.round(32 * (model.width ?? 1)))
  const dense = model.fcUnits ?? 256
  const depth = Math.min(5, Math.max(1, Math.floor(Math.log2(inputSize / 4))))
  let macs = 0
  let cin = 3
  for (let b = 1; b <= depth; b++) {
    const side = inputSize >> (b - 1)
    const f = channels * 2 ** (b - 1)
    macs += side * side * 9 * (cin * f + f * f)
    cin = f
  }
  const side = inputSize >> depth
  const flat = side * side * cin <= 4096 ? side * side * cin : cin
  const head = flat * dense + dense * numClasses
  return { forward: macs + head, base: macs, head }
}
