// Converts a TF.js LayersModel into an ONNX model, so that frozen forward passes (feature extraction,
// prediction) can run in onnxruntime, which is several times faster on the CPU than TF.js's wasm or cpu
// backends.
//
// Graphs: a sequential chain (the compact CNNs, AlexNet, a base model nested inside a classifier) or a
// functional DAG with residual and squeeze-excitation merges (Add, Multiply: torchvision's ResNets,
// MobileNets and EfficientNet). Nested models are flattened; only the layers the requested output depends
// on are written (a feature export leaves the head out, even when the head holds a layer that would not
// export). A layer applied more than once (shared) and multi-input models are refused.
//
// Layout: TF.js works in NHWC, ONNX's Conv/Pool/LRN/BatchNormalization want NCHW. The graph keeps the
// caller's view: the input is NHWC float32 named `input` and is transposed to NCHW right after it; a
// rank-4 output is transposed back to NHWC before `output`. Every rank-4 tensor inside is NCHW, so merges
// broadcast as in TF ([N,H,W,C] * [N,1,1,C] is [N,C,H,W] * [N,C,1,1]). Flatten transposes NCHW->NHWC first
// so the flattened order (and therefore every following Dense kernel) is exactly TF's; the transpose costs
// far less than a Dense layer and keeps the weights untouched. Reshape does the same, except to or from a
// 1x1 map, whose NHWC and NCHW orders are the same memory.
//
// Weights are written as little-endian raw_data (the ONNX rule); Node on x86/arm is little-endian, and
// a big-endian host is refused rather than writing wrong bytes.
import { endianness } from 'node:os'
import * as tf from '@tensorflow/tfjs'
import {
  AttrType,
  DataType,
  encodeModel,
  type OnnxAttribute,
  type OnnxDim,
  type OnnxNode
} from './onnxSchema'
import type { OnnxTensor, OnnxValueInfo } from './onnxSchema'

export interface OnnxExportOptions {
  /** Stop after this layer (e.g. 'fc7' for an AlexNet feature model); default: the model's output. */
  outputLayer?: string
  /** ONNX default-domain opset; default 13. Below 13 is refused (Softmax/Clip semantics changed there). */
  opset?: number
  /** Written to ModelProto.producer_name; default 'transfer-studio'. */
  producer?: string
}

/** Names of the graph's single input and output. */
export const ONNX_INPUT_NAME = 'input'
export const ONNX_OUTPUT_NAME = 'output'

/** Layer classes the exporter understands (getClassName()). */
export const SUPPORTED_LAYERS: readonly string[] = [
  'InputLayer',
  'Conv2D',
  'GroupedConv2D',
  'DepthwiseConv2D',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
  'BatchNormalization',
  'LocalResponseNormalization',
  'Flatten',
  'Dense',
  'Dropout',
  'Activation',
  'ReLU',
  'Softmax',
  'ZeroPadding2D',
  'Reshape',
  'Add',
  'Multiply',
  // The studio's torchvision layers (src/main/ml/layers/torchvision.ts).
  'HardSwish',
  'HardSigmoid',
  'StochasticDepth'
]

/** A layer the exporter cannot translate, or a model shape it does not handle. */
export class OnnxExportError extends Error {
  constructor(
    message: string,
    readonly layerName?: string,
    readonly className?: string
  ) {
    super(message)
    this.name = 'OnnxExportError'
  }
}

type Shape = (number | null)[]
type Config = Record<string, unknown>

/** The tensor flowing between layers: its ONNX name and its TF (NHWC) shape. */
interface Flow {
  name: string
  shape: Shape
}

const DEFAULT_OPSET = 13
// IR version 7 is the one that goes with opsets 12-13; onnxruntime reads it and every later one.
const IR_VERSION = 7

/**
 * Exports `model` (up to `opts.outputLayer`) as ONNX ModelProto bytes. Input `input` is NHWC float32
 * [batch, H, W, C] (or [batch, features] for a model on vectors), output `output` has TF.js's layout.
 * Throws OnnxExportError naming the layer for anything it cannot translate.
 */
export function exportOnnx(model: tf.LayersModel, opts: OnnxExportOptions = {}): Uint8Array {
  if (endianness() !== 'LE') throw new OnnxExportError('ONNX export needs a little-endian host')
  const opset = opts.opset ?? DEFAULT_OPSET
  if (!Number.isInteger(opset) || opset < 13)
    throw new OnnxExportError(`Unsupported opset ${opset}: use 13 or newer`)
  if (model.inputs.length !== 1)
    throw new OnnxExportError(`Only single-input models export (got ${model.inputs.length})`)
  if (model.outputs.length !== 1 && opts.outputLayer === undefined) {
    throw new OnnxExportError(`Only single-output models export (got ${model.outputs.length})`)
  }

  const graph = flattenGraph(model)
  let outKey = graph.outputs[0]
  if (opts.outputLayer !== undefined) {
    const op = graph.ops.find((o) => o.layer.name === opts.outputLayer)
    if (!op) {
      throw new OnnxExportError(
        `Layer '${opts.outputLayer}' is not in the model; layers: ${graph.ops.map((o) => o.layer.name).join(', ')}`
      )
    }
    outKey = op.output
  }
  const ops = neededOps(graph.ops, outKey)
  // Check every class first so the error names the first unsupported layer before any work is done.
  for (const { layer } of ops) {
    const cls = layer.getClassName()
    if (!SUPPORTED_LAYERS.includes(cls)) {
      throw new OnnxExportError(
        `Layer '${layer.name}' of class ${cls} cannot be exported to ONNX (supported: ${SUPPORTED_LAYERS.join(', ')})`,
        layer.name,
        cls
      )
    }
  }

  const inShape = model.inputs[0].shape as Shape
  if (inShape.length !== 4 && inShape.length !== 2) {
    throw new OnnxExportError(
      `Model input must be rank 4 (NHWC images) or rank 2; got [${inShape.join(', ')}]`
    )
  }
  const g = new GraphBuilder(opset)
  const flows = new Map<string, Flow>()
  flows.set(
    INPUT_KEY,
    inShape.length === 4
      ? {
          name: g.node('Transpose', [ONNX_INPUT_NAME], 'input/nchw', [ints('perm', [0, 3, 1, 2])]),
          shape: inShape
        }
      : { name: ONNX_INPUT_NAME, shape: inShape }
  )
  for (const op of ops) {
    const xs = op.inputs.map((key) => {
      const f = flows.get(key)
      if (!f) {
        const cls = op.layer.getClassName()
        throw new OnnxExportError(
          `Layer '${op.layer.name}' (${cls}) is fed by a tensor that does not come from the model input`,
          op.layer.name,
          cls
        )
      }
      return f
    })
    flows.set(op.output, convertLayer(g, op.layer, xs, op.shape))
  }
  let flow = flows.get(outKey)
  if (!flow) throw new OnnxExportError('The output does not depend on the model input')
  if (flow.shape.length === 4) {
    flow = {
      name: g.node('Transpose', [flow.name], 'output/nhwc', [ints('perm', [0, 2, 3, 1])]),
      shape: flow.shape
    }
  }
  g.renameOutput(flow.name, ONNX_OUTPUT_NAME)

  const bytes = encodeModel({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: opset }],
    producerName: opts.producer ?? 'transfer-studio',
    producerVersion: tf.version.tfjs,
    graph: {
      name: model.name,
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo(ONNX_INPUT_NAME, inShape, ['batch', 'height', 'width', 'channels'])],
      output: [valueInfo(ONNX_OUTPUT_NAME, flow.shape, ['batch'])]
    }
  })
  return bytes
}

/** Key of the model input among the graph's tensors (see flattenGraph). */
const INPUT_KEY = 'model-input'

/** One leaf layer application: the tensors it reads and the one it writes (keys), its TF output shape. */
interface GraphOp {
  layer: tf.layers.Layer
  inputs: string[]
  output: string
  shape: Shape
}

/** The parts of tfjs-layers' Node (engine/topology) read here. */
interface LayerNode {
  inputTensors: tf.SymbolicTensor[]
  outputTensors: tf.SymbolicTensor[]
}

/**
 * The model's leaf layers in a topological order (tfjs's own: `layers` is sorted by depth), with nested
 * models (a base model used as a layer) flattened: an inner model's input tensors stand for the outer
 * tensors it is applied to. Tensors are keyed by SymbolicTensor id. Refuses a layer applied more than once
 * within one model (its weights would be shared between two places; not written) and multi-output layers.
 */
function flattenGraph(model: tf.LayersModel): { ops: GraphOp[]; outputs: string[] } {
  const ops: GraphOp[] = []
  const alias = new Map<number, string>()
  const keyOf = (t: tf.SymbolicTensor): string => alias.get(t.id) ?? `t${t.id}`
  const visit = (m: tf.LayersModel, inputKeys: string[]): string[] => {
    // A Sequential builds its graph (and containerNodes) lazily, on first predict or apply.
    if (m instanceof tf.Sequential && !m.built) m.build()
    m.inputs.forEach((t, i) => alias.set(t.id, inputKeys[i]))
    for (const layer of m.layers) {
      const cls = layer.getClassName()
      if (cls === 'InputLayer') continue
      // A layer's inbound nodes include its uses in other models (a base model is used inside the model
      // that wraps it); tfjs records which nodes belong to this model in `containerNodes`.
      const all = (layer as unknown as { inboundNodes: LayerNode[] }).inboundNodes
      const own = (m as unknown as { containerNodes?: Set<string> }).containerNodes
      const nodes = own ? all.filter((_, i) => own.has(`${layer.name}_ib-${i}`)) : all
      if (nodes.length !== 1) {
        throw new OnnxExportError(
          `Layer '${layer.name}' (${cls}) is applied ${nodes.length} times (shared); shared layers do not export`,
          layer.name,
          cls
        )
      }
      const node = nodes[0]
      const ins = node.inputTensors.map(keyOf)
      if (layer instanceof tf.LayersModel) {
        const outs = visit(layer, ins)
        node.outputTensors.forEach((t, i) => alias.set(t.id, outs[i]))
        continue
      }
      if (node.outputTensors.length !== 1) {
        throw new OnnxExportError(`Layer '${layer.name}' (${cls}) has several outputs`, layer.name, cls)
      }
      const out = node.outputTensors[0]
      ops.push({ layer, inputs: ins, output: keyOf(out), shape: out.shape as Shape })
    }
    return m.outputs.map(keyOf)
  }
  return { ops, outputs: visit(model, [INPUT_KEY]) }
}

/** The ops that `output` depends on, in their order. */
function neededOps(ops: GraphOp[], output: string): GraphOp[] {
  const producer = new Map(ops.map((op) => [op.output, op]))
  const needed = new Set<GraphOp>()
  const stack = [output]
  while (stack.length > 0) {
    const op = producer.get(stack.pop()!)
    if (!op || needed.has(op)) continue
    needed.add(op)
    stack.push(...op.inputs)
  }
  return ops.filter((op) => needed.has(op))
}

// ---------------------------------------------------------------------------------------------------
// Graph building

class GraphBuilder {
  readonly nodes: OnnxNode[] = []
  readonly initializers: OnnxTensor[] = []
  private readonly used = new Set<string>([ONNX_INPUT_NAME, ONNX_OUTPUT_NAME])

  constructor(readonly opset: number) {}

  /** A tensor name not used yet, derived from `base`. */
  unique(base: string): string {
    let name = base
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`
    this.used.add(name)
    return name
  }

  /** Adds a node with one output and returns that output's name. */
  node(op: string, inputs: string[], outName: string, attrs: OnnxAttribute[] = []): string {
    const output = this.unique(outName)
    this.nodes.push({ input: inputs, output: [output], name: output, opType: op, attribute: attrs })
    return output
  }

  floatInit(name: string, dims: number[], data: Float32Array): string {
    const unique = this.unique(name)
    // A view, not a copy: weights can be hundreds of MB and protobufjs copies them once into the output.
    const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    this.initializers.push({ name: unique, dims, dataType: DataType.FLOAT, rawData: raw })
    return unique
  }

  int64Init(name: string, values: number[]): string {
    const unique = this.unique(name)
    const data = BigInt64Array.from(values.map((v) => BigInt(v)))
    const raw = new Uint8Array(data.buffer)
    this.initializers.push({ name: unique, dims: [values.length], dataType: DataType.INT64, rawData: raw })
    return unique
  }

  /**
   * Makes the graph output carry the fixed name: renames the producing node's output (and its readers, if
   * any), or adds Identity when the output is the graph input itself.
   */
  renameOutput(current: string, wanted: string): void {
    const producer = this.nodes.find((n) => n.output[0] === current)
    if (producer && current !== ONNX_INPUT_NAME) {
      producer.output[0] = wanted
      for (const n of this.nodes) n.input = n.input.map((i) => (i === current ? wanted : i))
    } else {
      this.nodes.push({ input: [current], output: [wanted], name: wanted, opType: 'Identity', attribute: [] })
    }
  }
}

function ints(name: string, values: number[]): OnnxAttribute {
  return { name, type: AttrType.INTS, ints: values }
}
function int(name: string, value: number): OnnxAttribute {
  return { name, type: AttrType.INT, i: value }
}
function float(name: string, value: number): OnnxAttribute {
  return { name, type: AttrType.FLOAT, f: value }
}
function str(name: string, value: string): OnnxAttribute {
  return { name, type: AttrType.STRING, s: new TextEncoder().encode(value) }
}

function valueInfo(name: string, shape: Shape, symbolic: string[]): OnnxValueInfo {
  const dim: OnnxDim[] = shape.map((d, i) =>
    d === null ? { dimParam: symbolic[i] ?? `d${i}` } : { dimValue: d }
  )
  return { name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim } } } }
}

// ---------------------------------------------------------------------------------------------------
// Layers

function convertLayer(g: GraphBuilder, layer: tf.layers.Layer, xs: Flow[], outShape: Shape): Flow {
  const cls = layer.getClassName()
  const cfg = layer.getConfig() as Config
  const fail = (why: string): never => {
    throw new OnnxExportError(`Layer '${layer.name}' (${cls}): ${why}`, layer.name, cls)
  }
  const n = layer.name
  if (cls === 'Add' || cls === 'Multiply')
    return merge(g, n, cls === 'Add' ? 'Add' : 'Mul', xs, outShape, fail)
  if (xs.length !== 1) fail(`expects one input, got ${xs.length}`)
  const x = xs[0]
  const rank = x.shape.length
  const need4 = (): void => {
    if (rank !== 4) fail(`expects a rank-4 NHWC input, got [${x.shape.join(', ')}]`)
  }
  if (cfg.dataFormat !== undefined && cfg.dataFormat !== 'channelsLast')
    fail(`dataFormat ${String(cfg.dataFormat)}`)

  switch (cls) {
    case 'InputLayer':
    case 'Dropout':
    case 'StochasticDepth':
      // The identity at inference.
      return { name: x.name, shape: outShape }

    case 'Conv2D':
    case 'GroupedConv2D':
    case 'DepthwiseConv2D': {
      need4()
      const kernel = weight(layer, cls === 'DepthwiseConv2D' ? 'depthwise_kernel' : 'kernel', 0, fail)
      const [kh, kw, kin, kout] = kernel.shape
      const cin = x.shape[3] as number
      let W: Float32Array
      let wDims: number[]
      let group: number
      if (cls === 'DepthwiseConv2D') {
        // TF depthwise output channel c*mult+m uses kernel[..., c, m]: as a grouped conv that is
        // W[c*mult+m, 0, kh, kw], i.e. the kernel transposed to [c, m, kh, kw].
        group = kin
        W = transpose4(kernel.data, kernel.shape, [2, 3, 0, 1])
        wDims = [kin * kout, 1, kh, kw]
      } else {
        group = cls === 'GroupedConv2D' ? Number(cfg.groups ?? 1) : 1
        if (!Number.isInteger(group) || group < 1 || cin % group !== 0 || kin * group !== cin) {
          fail(`kernel [${kernel.shape.join(', ')}] does not fit ${cin} input channels in ${group} groups`)
        }
        // TF [kh, kw, cin/groups, out] -> ONNX [out, cin/groups, kh, kw]; both split channels into
        // contiguous groups, so grouped kernels need no reordering beyond this.
        W = transpose4(kernel.data, kernel.shape, [3, 2, 0, 1])
        wDims = [kout, kin, kh, kw]
      }
      const [sh, sw] = pair(cfg.strides ?? 1)
      const [dh, dw] = pair(cfg.dilationRate ?? 1)
      const inputs = [x.name, g.floatInit(`${n}/W`, wDims, W)]
      if (cfg.useBias !== false) {
        const bias = weight(layer, 'bias', 1, fail)
        inputs.push(g.floatInit(`${n}/B`, [bias.data.length], bias.data))
      }
      const attrs = [
        ints('kernel_shape', [kh, kw]),
        ints('strides', [sh, sw]),
        ints('dilations', [dh, dw]),
        int('group', group),
        ...padAttrs(cfg.padding, x.shape, [kh, kw], [sh, sw], [dh, dw], fail)
      ]
      const y = g.node('Conv', inputs, `${n}/conv`, attrs)
      return { name: activation(g, n, cfg.activation, y, 4, fail), shape: outShape }
    }

    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      need4()
      const [kh, kw] = pair(cfg.poolSize ?? 2)
      const [sh, sw] = pair(cfg.strides ?? cfg.poolSize ?? 2)
      const attrs = [
        ints('kernel_shape', [kh, kw]),
        ints('strides', [sh, sw]),
        ...padAttrs(cfg.padding, x.shape, [kh, kw], [sh, sw], [1, 1], fail)
      ]
      // TF's SAME average pooling divides by the number of real (unpadded) cells, as ONNX does with
      // count_include_pad=0; SAME max pooling ignores the padding, as ONNX MaxPool does.
      if (cls === 'AveragePooling2D') attrs.push(int('count_include_pad', 0))
      const op = cls === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool'
      return { name: g.node(op, [x.name], `${n}/pool`, attrs), shape: outShape }
    }

    case 'GlobalAveragePooling2D':
    case 'GlobalMaxPooling2D': {
      need4()
      const op = cls === 'GlobalAveragePooling2D' ? 'GlobalAveragePool' : 'GlobalMaxPool'
      const y = g.node(op, [x.name], `${n}/pool`)
      // keepDims gives TF [N,1,1,C], which is NCHW [N,C,1,1]: nothing to do. Otherwise drop the 1x1.
      if (cfg.keepDims === true) return { name: y, shape: outShape }
      return { name: g.node('Flatten', [y], `${n}/flat`, [int('axis', 1)]), shape: outShape }
    }

    case 'BatchNormalization': {
      const axis = Number(cfg.axis ?? -1)
      if (axis !== -1 && axis !== rank - 1)
        fail(`only channel-axis (last axis) normalisation exports, got axis ${axis}`)
      if (rank !== 4 && rank !== 2) fail(`expects rank 2 or 4, got [${x.shape.join(', ')}]`)
      const mean = findWeight(layer, 'moving_mean')
      const variance = findWeight(layer, 'moving_variance')
      if (!mean || !variance) return fail('moving mean/variance weights not found')
      const c = mean.data.length
      const gamma = cfg.scale === false ? undefined : findWeight(layer, 'gamma')
      const beta = cfg.center === false ? undefined : findWeight(layer, 'beta')
      const inputs = [
        x.name,
        g.floatInit(`${n}/scale`, [c], gamma?.data ?? new Float32Array(c).fill(1)),
        g.floatInit(`${n}/bias`, [c], beta?.data ?? new Float32Array(c)),
        g.floatInit(`${n}/mean`, [c], mean.data),
        g.floatInit(`${n}/var`, [c], variance.data)
      ]
      const eps = Number(cfg.epsilon ?? 1e-3)
      return {
        name: g.node('BatchNormalization', inputs, `${n}/bn`, [float('epsilon', eps)]),
        shape: outShape
      }
    }

    case 'LocalResponseNormalization': {
      need4()
      // TF: x / (bias + alpha * sum_{c-r..c+r} x^2)^beta. ONNX LRN sums over `size` channels centred on c
      // (size = 2r+1 gives the same window) but divides alpha by size, so alpha is scaled back up here.
      const r = Number(cfg.depthRadius)
      const alpha = Number(cfg.alpha)
      const beta = Number(cfg.beta)
      const bias = Number(cfg.bias)
      if (![r, alpha, beta, bias].every(Number.isFinite) || !Number.isInteger(r) || r < 0) {
        fail('needs integer depthRadius >= 0 and numeric alpha, beta, bias in its config')
      }
      const c = x.shape[3] as number
      if (!Number.isInteger(c) || c < 1) fail('needs a known channel count')
      // onnxruntime's LRN kernel is a scalar loop: it took over half of a full AlexNet's forward pass (349 of
      // ~600 ms per batch of 32). The same function as ONNX's fast kernels: the windowed sum of squares is a
      // 1x1 Conv of x*x with a banded C x C matrix of alpha (its bias adds `bias`), then x * d^-beta, with
      // d^-0.75 = 1 / (sqrt(d) * sqrt(sqrt(d))) for AlexNet's beta (vectorised Sqrt instead of Pow).
      const band = new Float32Array(c * c)
      for (let o = 0; o < c; o++) {
        for (let i = Math.max(0, o - r); i <= Math.min(c - 1, o + r); i++) band[o * c + i] = alpha
      }
      const sq = g.node('Mul', [x.name, x.name], `${n}/square`)
      const denom = g.node(
        'Conv',
        [
          sq,
          g.floatInit(`${n}/band`, [c, c, 1, 1], band),
          g.floatInit(`${n}/bias`, [c], new Float32Array(c).fill(bias))
        ],
        `${n}/window`,
        [ints('kernel_shape', [1, 1])]
      )
      let scaled: string
      if (beta === 0.75) {
        const root = g.node('Sqrt', [denom], `${n}/sqrt`)
        const root4 = g.node('Sqrt', [root], `${n}/sqrt4`)
        scaled = g.node('Mul', [root, root4], `${n}/pow`)
      } else if (beta === 0.5) {
        scaled = g.node('Sqrt', [denom], `${n}/pow`)
      } else if (beta === 1) {
        scaled = denom
      } else {
        scaled = g.node('Pow', [denom, g.floatInit(`${n}/beta`, [], new Float32Array([beta]))], `${n}/pow`)
      }
      return { name: g.node('Div', [x.name, scaled], `${n}/lrn`), shape: outShape }
    }

    case 'Flatten': {
      if (rank === 2) return { name: x.name, shape: outShape }
      need4()
      const nhwc = g.node('Transpose', [x.name], `${n}/nhwc`, [ints('perm', [0, 2, 3, 1])])
      return { name: g.node('Flatten', [nhwc], `${n}/flat`, [int('axis', 1)]), shape: outShape }
    }

    case 'Dense': {
      if (rank !== 2) fail(`Dense on a rank-${rank} input does not export; put a Flatten before it`)
      const kernel = weight(layer, 'kernel', 0, fail)
      const [fin, fout] = kernel.shape
      const W = g.floatInit(`${n}/W`, [fin, fout], kernel.data)
      let y: string
      if (cfg.useBias !== false) {
        const bias = weight(layer, 'bias', 1, fail)
        y = g.node('Gemm', [x.name, W, g.floatInit(`${n}/B`, [fout], bias.data)], `${n}/gemm`)
      } else {
        y = g.node('MatMul', [x.name, W], `${n}/matmul`)
      }
      return { name: activation(g, n, cfg.activation, y, 2, fail), shape: outShape }
    }

    case 'Activation':
      return { name: activation(g, n, cfg.activation, x.name, rank, fail), shape: outShape }

    case 'ReLU': {
      const max = cfg.maxValue
      if (max === null || max === undefined)
        return { name: g.node('Relu', [x.name], `${n}/relu`), shape: outShape }
      return { name: clip(g, n, x.name, 0, Number(max)), shape: outShape }
    }

    case 'Softmax': {
      const axis = Number(cfg.axis ?? -1)
      if (axis !== -1 && axis !== rank - 1)
        fail(`softmax over axis ${axis} does not export (only the last axis)`)
      return { name: activation(g, n, 'softmax', x.name, rank, fail), shape: outShape }
    }

    case 'HardSwish':
      // x * relu6(x + 3) / 6: an op of its own from opset 14, x * HardSigmoid(x) before.
      if (g.opset >= 14) return { name: g.node('HardSwish', [x.name], `${n}/hardswish`), shape: outShape }
      return {
        name: g.node('Mul', [x.name, torchHardSigmoid(g, n, x.name)], `${n}/hardswish`),
        shape: outShape
      }

    case 'HardSigmoid':
      return { name: torchHardSigmoid(g, n, x.name), shape: outShape }

    case 'Reshape':
      return { name: reshape(g, n, x, outShape, fail), shape: outShape }

    case 'ZeroPadding2D': {
      need4()
      // config padding: [[top, bottom], [left, right]]
      const p = cfg.padding as number[][]
      const [[top, bottom], [left, right]] = p
      const pads = g.int64Init(`${n}/pads`, [0, 0, top, left, 0, 0, bottom, right])
      return { name: g.node('Pad', [x.name, pads], `${n}/pad`), shape: outShape }
    }
  }
  return fail('unsupported layer class')
}

/**
 * Add / Multiply of same-rank tensors as a chain of binary ops. Every operand is in the graph's layout
 * (NCHW for rank 4), so ONNX's numpy broadcasting pairs the same axes as TF's ([N,C,H,W] * [N,C,1,1] for
 * a squeeze-excitation scale).
 */
function merge(
  g: GraphBuilder,
  layerName: string,
  op: 'Add' | 'Mul',
  xs: Flow[],
  outShape: Shape,
  fail: (why: string) => never
): Flow {
  if (xs.length < 2) fail(`expects at least two inputs, got ${xs.length}`)
  if (xs.some((x) => x.shape.length !== outShape.length)) {
    fail(`inputs of different ranks (${xs.map((x) => `[${x.shape.join(', ')}]`).join(', ')}) do not export`)
  }
  let y = xs[0].name
  for (let i = 1; i < xs.length; i++) y = g.node(op, [y, xs[i].name], `${layerName}/${op.toLowerCase()}`)
  return { name: y, shape: outShape }
}

/** Whether a rank-4 TF shape is a 1x1 map (NHWC and NCHW are then the same memory order). */
const isPoint = (s: Shape): boolean => s.length === 4 && s[1] === 1 && s[2] === 1

/**
 * TF's Reshape (row-major over NHWC) on a tensor held in the graph's layout: a rank-4 input goes back to
 * NHWC first and a rank-4 result is transposed to NCHW, except for 1x1 maps, where the orders coincide.
 */
function reshape(
  g: GraphBuilder,
  layerName: string,
  x: Flow,
  outShape: Shape,
  fail: (why: string) => never
): string {
  const target = outShape.slice(1)
  if (target.some((d) => d === null)) fail(`target shape [${outShape.join(', ')}] is not fully known`)
  const dims = target as number[]
  let src = x.name
  if (x.shape.length === 4 && !isPoint(x.shape))
    src = g.node('Transpose', [src], `${layerName}/nhwc`, [ints('perm', [0, 2, 3, 1])])
  // 0 copies the batch dimension (allowzero is 0 by default).
  if (outShape.length === 4 && isPoint(outShape)) {
    return g.node(
      'Reshape',
      [src, g.int64Init(`${layerName}/shape`, [0, dims[2], 1, 1])],
      `${layerName}/reshape`
    )
  }
  const y = g.node('Reshape', [src, g.int64Init(`${layerName}/shape`, [0, ...dims])], `${layerName}/reshape`)
  if (outShape.length !== 4) return y
  return g.node('Transpose', [y], `${layerName}/nchw`, [ints('perm', [0, 3, 1, 2])])
}

/** Emits the activation named in a layer config (string or {className}) and returns its output. */
function activation(
  g: GraphBuilder,
  layerName: string,
  act: unknown,
  x: string,
  rank: number,
  fail: (why: string) => never
): string {
  const name = typeof act === 'string' ? act : ((act as { className?: string } | null)?.className ?? 'linear')
  const key = name.toLowerCase()
  switch (key) {
    case 'linear':
      return x
    case 'relu':
      return g.node('Relu', [x], `${layerName}/relu`)
    case 'relu6':
      return clip(g, layerName, x, 0, 6)
    case 'sigmoid':
      return g.node('Sigmoid', [x], `${layerName}/sigmoid`)
    case 'tanh':
      return g.node('Tanh', [x], `${layerName}/tanh`)
    case 'elu':
      return g.node('Elu', [x], `${layerName}/elu`, [float('alpha', 1)])
    case 'selu':
      // TF and ONNX use the same SELU constants (ONNX defaults).
      return g.node('Selu', [x], `${layerName}/selu`)
    case 'softplus':
      return g.node('Softplus', [x], `${layerName}/softplus`)
    case 'softsign':
      return g.node('Softsign', [x], `${layerName}/softsign`)
    case 'swish': {
      // x * sigmoid(x) (SiLU; ONNX has no Swish op).
      const sig = g.node('Sigmoid', [x], `${layerName}/sigmoid`)
      return g.node('Mul', [x, sig], `${layerName}/swish`)
    }
    case 'softmax':
      // TF softmax is over the last axis: channels, which is axis 1 in NCHW and axis 1 of [N, F].
      if (rank !== 2 && rank !== 4) fail(`softmax on a rank-${rank} tensor does not export`)
      return g.node('Softmax', [x], `${layerName}/softmax`, [int('axis', rank === 4 ? 1 : -1)])
  }
  return fail(`activation '${name}' does not export`)
}

/**
 * PyTorch's hardsigmoid, relu6(x + 3) / 6 = max(0, min(1, x / 6 + 0.5)): ONNX HardSigmoid with alpha 1/6
 * (Keras's 'hardSigmoid' activation is 0.2 x + 0.5, ONNX's defaults, and is not exported).
 */
function torchHardSigmoid(g: GraphBuilder, layerName: string, x: string): string {
  return g.node('HardSigmoid', [x], `${layerName}/hardsigmoid`, [float('alpha', 1 / 6), float('beta', 0.5)])
}

function clip(g: GraphBuilder, layerName: string, x: string, lo: number, hi: number): string {
  const min = g.floatInit(`${layerName}/clip_min`, [], Float32Array.of(lo))
  const max = g.floatInit(`${layerName}/clip_max`, [], Float32Array.of(hi))
  return g.node('Clip', [x, min, max], `${layerName}/clip`)
}

/**
 * ONNX pad attributes for TF's 'valid' or 'same' padding. SAME pads so that out = ceil(in / stride),
 * with the odd cell at the end (bottom/right), exactly as TF does. When a spatial size is unknown at
 * export time (input [null, null, null, 3]) ONNX's SAME_UPPER computes the same thing at run time.
 */
function padAttrs(
  padding: unknown,
  nhwc: Shape,
  k: [number, number],
  s: [number, number],
  d: [number, number],
  fail: (why: string) => never
): OnnxAttribute[] {
  if (padding === 'valid' || padding === undefined) return [ints('pads', [0, 0, 0, 0])]
  if (padding !== 'same') return fail(`padding '${String(padding)}' does not export`)
  const [h, w] = [nhwc[1], nhwc[2]]
  if (h === null || w === null) return [str('auto_pad', 'SAME_UPPER')]
  const [top, bottom] = samePads(h, k[0], s[0], d[0])
  const [left, right] = samePads(w, k[1], s[1], d[1])
  return [ints('pads', [top, left, bottom, right])]
}

/** TF SAME padding along one axis: [before, after]. Exported for tests. */
export function samePads(size: number, kernel: number, stride: number, dilation = 1): [number, number] {
  const effective = (kernel - 1) * dilation + 1
  const out = Math.ceil(size / stride)
  const total = Math.max((out - 1) * stride + effective - size, 0)
  const before = Math.floor(total / 2)
  return [before, total - before]
}

function pair(v: unknown): [number, number] {
  if (Array.isArray(v)) return [Number(v[0]), Number(v[v.length > 1 ? 1 : 0])]
  return [Number(v), Number(v)]
}

interface WeightData {
  shape: number[]
  data: Float32Array
}

function findWeight(layer: tf.layers.Layer, suffix: string): WeightData | undefined {
  const w = layer.weights.find(
    (v) => v.originalName.split('/').pop() === suffix || v.name.endsWith(`/${suffix}`)
  )
  if (!w) return undefined
  const t = w.read()
  if (t.dtype !== 'float32')
    throw new OnnxExportError(`Weight ${w.name} is ${t.dtype}, not float32`, layer.name)
  return { shape: t.shape, data: t.dataSync() as Float32Array }
}

/** A weight by name suffix, or by position when the layer names its weights differently. */
function weight(
  layer: tf.layers.Layer,
  suffix: string,
  index: number,
  fail: (why: string) => never
): WeightData {
  const found = findWeight(layer, suffix)
  if (found) return found
  const w = layer.weights[index]
  if (!w) return fail(`weight '${suffix}' not found`)
  const t = w.read()
  return { shape: t.shape, data: t.dataSync() as Float32Array }
}

/** Permutes a 4-D row-major array: out.shape[i] = shape[perm[i]]. */
export function transpose4(data: Float32Array, shape: number[], perm: number[]): Float32Array {
  if (shape.length !== 4) throw new OnnxExportError(`Expected a 4-D kernel, got [${shape.join(', ')}]`)
  const outShape = perm.map((p) => shape[p])
  const inStrides = [shape[1] * shape[2] * shape[3], shape[2] * shape[3], shape[3], 1]
  const s = perm.map((p) => inStrides[p])
  const out = new Float32Array(data.length)
  let o = 0
  for (let a = 0; a < outShape[0]; a++) {
    for (let b = 0; b < outShape[1]; b++) {
      for (let c = 0; c < outShape[2]; c++) {
        const base = a * s[0] + b * s[1] + c * s[2]
        for (let d = 0; d < outShape[3]; d++) out[o++] = data[base + d * s[3]]
      }
    }
  }
  return out
}
