// Any ONNX image model as a frozen feature extractor: an exported torchvision/timm/Keras classifier, or the
// studio's own export. The studio trains only a new head on the vectors, so the model is never changed, only
// read and run in onnxruntime-node.
//
// inspectOnnxModel reads the file (a regular file, at most MAX_ONNX_BYTES: the protobuf limit) with the
// exporter's protobuf schema (../export/onnxSchema.ts) and finds
//   the image input   the one graph input (initializers aside) that is 4-D float with 3 channels, NCHW
//                     ([N, 3, H, W], PyTorch's) or NHWC ([N, H, W, 3], TF's), square; the batch may be dynamic
//   the features      for a classifier (a single output made by Gemm, or MatMul, or MatMul + Add, with
//                     constant weights, optionally followed by Softmax/LogSoftmax), the input of that last
//                     layer: the penultimate activations, e.g. ResNet's flattened average pool
// or the caller names the output: any graph output or any node's output tensor.
//
// A tensor that is not a graph output is made one without re-encoding the model (the embedded schema only
// knows the fields the exporter writes, so a decode-encode round trip would drop the rest): protobuf merges a
// message field that appears twice, so appending a second `graph` holding only the extra `output` to the
// file's bytes yields the same model with one more output. onnxruntime then computes it like any other.
//
// extract() takes what the studio's preprocessing writes (NHWC float32, the model's size, already
// normalised) and transposes it to NCHW where the model wants that. Models with a fixed batch size are run
// in chunks of it, the last one padded.
import { openRegularFile, SafeFileError, type RegularFile } from '../../fs/safeFile'
import { cpus } from 'node:os'
import type * as Ort from 'onnxruntime-node'
import { decodeModel, encodeModel, type OnnxModel, type OnnxNode } from '../export/onnxSchema'
import { loadOnnxRuntime } from '../evaluate/onnxRuntime'

/** Largest ONNX file read: protobuf messages cannot exceed 2 GiB (bigger models keep weights outside). */
export const MAX_ONNX_BYTES = 2 ** 31 - 1

/** Default side for a model whose input height and width are dynamic (torchvision's 224). */
export const DEFAULT_DYNAMIC_SIZE = 224

export type OnnxModelErrorCode =
  | 'not-a-file'
  | 'too-large'
  | 'not-onnx'
  | 'no-image-input'
  | 'output-not-found'
  | 'no-feature-output'
  | 'bad-batch'

/** A file that is not a usable ONNX image model, or an output it does not have. */
export class OnnxModelError extends Error {
  constructor(
    readonly code: OnnxModelErrorCode,
    message: string,
    readonly path?: string
  ) {
    super(message)
    this.name = 'OnnxModelError'
  }
}

export interface OnnxImageInput {
  name: string
  layout: 'NCHW' | 'NHWC'
  /** Square side in pixels (DEFAULT_DYNAMIC_SIZE when the model's height and width are dynamic). */
  size: number
  channels: 3
  /** Whether the model fixes its height and width (false: any size runs; `size` is the default chosen). */
  fixedSize: boolean
  /** A fixed batch size, or null when the batch dimension is dynamic. */
  batch: number | null
}

export interface OnnxModelInfo {
  input: OnnxImageInput
  /** The graph's output names. */
  outputs: string[]
  /** The penultimate tensor of a classifier (input of its last Gemm/MatMul), or null when not found. */
  featureOutput: string | null
  /** Values per image of featureOutput (from the classifier's weights), or null when unknown. */
  featureDim: number | null
  opset: number | null
  producer: string
}

export interface InspectOptions {
  /** Largest file accepted; default MAX_ONNX_BYTES. */
  maxBytes?: number
}

export interface OnnxFeatureExtractorOptions extends InspectOptions {
  /** Tensor to use as features: a graph output or any node output; default the detected featureOutput. */
  output?: string
  /** Intra-op threads; default the number of logical cores. */
  threads?: number
  /** Module id instead of 'onnxruntime-node' (tests). */
  moduleId?: string
}

/** An ONNX model used as a frozen feature extractor: its file, the tensor the features come from, its input. */
export interface OnnxBaseRef {
  path: string
  output: string
  inputSize: number
  layout: 'NCHW' | 'NHWC'
}

export interface OnnxFeatureExtractor {
  /** Values per image. */
  featureDim: number
  /** Square input side expected by extract(). */
  inputSize: number
  /** The model's own layout (extract() always takes NHWC). */
  layout: 'NCHW' | 'NHWC'
  /** The tensor the features come from. */
  output: string
  info: OnnxModelInfo
  /**
   * Features of `n` preprocessed images stored back to back in `batch` (NHWC float32, inputSize square,
   * 3 channels): n * featureDim values, image after image.
   */
  extract(batch: Float32Array, n: number): Promise<Float32Array>
  /** Frees the native session. Safe to call twice. */
  dispose(): Promise<void>
}

/** What the extractor knows about a file after reading it. */
interface Parsed {
  bytes: Uint8Array
  model: OnnxModel
  info: OnnxModelInfo
}

/** Reads `path` (a regular file no bigger than maxBytes) into memory, through fs/safeFile's checks. */
async function readBounded(path: string, maxBytes: number): Promise<Uint8Array> {
  let file: RegularFile
  try {
    file = await openRegularFile(path, { maxBytes, what: 'ONNX model file' })
  } catch (err) {
    if (!(err instanceof SafeFileError)) throw err
    const code = err.code === 'too-large' ? 'too-large' : 'not-a-file'
    throw new OnnxModelError(code, err.message, path)
  }
  try {
    if (file.size === 0) throw new OnnxModelError('not-onnx', `${path} is empty, not an ONNX model`, path)
    return await file.read(0, file.size)
  } finally {
    await file.close()
  }
}

function decode(bytes: Uint8Array, path: string): OnnxModel {
  let model: OnnxModel
  try {
    model = decodeModel(bytes)
  } catch (err) {
    throw new OnnxModelError(
      'not-onnx',
      `${path} is not an ONNX model (protobuf: ${(err as Error).message.split('\n')[0]})`,
      path
    )
  }
  // Random bytes sometimes decode as a protobuf; an ONNX model has an IR version, a graph and nodes.
  const nodes = model.graph?.node ?? []
  if (!model.irVersion || !model.graph || nodes.length === 0 || nodes.some((n) => !n.opType)) {
    throw new OnnxModelError('not-onnx', `${path} is not an ONNX model (no graph of operators in it)`, path)
  }
  return model
}

const FLOAT = 1

type Dim = number | null
function dimsOf(vi: OnnxModel['graph']['input'][number] | undefined): Dim[] | null {
  const shape = vi?.type?.tensorType?.shape
  if (!shape) return null
  return (shape.dim ?? []).map((d) => (typeof d.dimValue === 'number' && d.dimValue > 0 ? d.dimValue : null))
}

function findImageInput(model: OnnxModel, path: string): OnnxImageInput {
  const inits = new Set((model.graph.initializer ?? []).map((t) => t.name))
  const inputs = (model.graph.input ?? []).filter((i) => !inits.has(i.name))
  const describe = (): string =>
    inputs
      .map((i) => {
        const d = dimsOf(i)
        const t = i.type?.tensorType?.elemType
        return `${i.name} ${t === FLOAT ? 'float' : `type ${t ?? '?'}`} [${d ? d.map((x) => x ?? '?').join(', ') : '?'}]`
      })
      .join('; ')
  const images: OnnxImageInput[] = []
  for (const i of inputs) {
    const d = dimsOf(i)
    if (i.type?.tensorType?.elemType !== FLOAT || !d || d.length !== 4) continue
    const layout = d[1] === 3 ? 'NCHW' : d[3] === 3 ? 'NHWC' : null
    if (!layout) continue
    const [h, w] = layout === 'NCHW' ? [d[2], d[3]] : [d[1], d[2]]
    if (h !== null && w !== null && h !== w) {
      throw new OnnxModelError(
        'no-image-input',
        `${path}: input '${i.name}' is ${h} x ${w}; only square image inputs are supported`,
        path
      )
    }
    const side = h ?? w
    images.push({
      name: i.name,
      layout,
      size: side ?? DEFAULT_DYNAMIC_SIZE,
      channels: 3,
      fixedSize: side !== null,
      batch: d[0]
    })
  }
  if (images.length === 0) {
    throw new OnnxModelError(
      'no-image-input',
      `${path}: no image input found (a 4-D float input with 3 channels, NCHW or NHWC); inputs: ${describe() || 'none'}`,
      path
    )
  }
  if (inputs.length !== 1) {
    throw new OnnxModelError(
      'no-image-input',
      `${path}: the model has ${inputs.length} inputs (${describe()}); only single-input image models run here`,
      path
    )
  }
  return images[0]
}

/** Shape of a constant: an initializer, or the `value` of a Constant node. */
function constantDims(model: OnnxModel, producers: Map<string, OnnxNode>, name: string): number[] | null {
  const init = (model.graph.initializer ?? []).find((t) => t.name === name)
  if (init) return (init.dims ?? []).map(Number)
  const node = producers.get(name)
  if (node?.opType === 'Constant') {
    const value = node.attribute?.find((a) => a.name === 'value') as { t?: { dims?: number[] } } | undefined
    if (value?.t) return (value.t.dims ?? []).map(Number)
  }
  return null
}

/** The classifier's penultimate tensor and its width, when the single output is Gemm/MatMul(+Add)(+Softmax). */
function findFeatureOutput(model: OnnxModel): { name: string; dim: number | null } | null {
  const outputs = model.graph.output ?? []
  if (outputs.length !== 1) return null
  const producers = new Map<string, OnnxNode>()
  for (const n of model.graph.node) for (const o of n.output ?? []) producers.set(o, n)
  const inputs = new Set((model.graph.input ?? []).map((i) => i.name))
  let node = producers.get(outputs[0].name)
  if (node && (node.opType === 'Softmax' || node.opType === 'LogSoftmax')) node = producers.get(node.input[0])
  if (!node) return null
  const attr = (n: OnnxNode, name: string): number =>
    Number(n.attribute?.find((a) => a.name === name)?.i ?? 0)
  const matmul = (n: OnnxNode): { name: string; dim: number | null } | null => {
    const w = constantDims(model, producers, n.input[1])
    if (!w || w.length !== 2 || inputs.has(n.input[1])) return null
    return { name: n.input[0], dim: w[0] }
  }
  let found: { name: string; dim: number | null } | null = null
  if (node.opType === 'Gemm') {
    // transA would make the features the transposed operand: not a classifier layout we read.
    const w = constantDims(model, producers, node.input[1])
    if (attr(node, 'transA') !== 0 || !w || w.length !== 2) return null
    found = { name: node.input[0], dim: attr(node, 'transB') === 1 ? w[1] : w[0] }
  } else if (node.opType === 'MatMul') {
    found = matmul(node)
  } else if (node.opType === 'Add') {
    for (const [x, b] of [
      [0, 1],
      [1, 0]
    ]) {
      const prev = producers.get(node.input[x])
      if (prev?.opType === 'MatMul' && constantDims(model, producers, node.input[b])) {
        found = matmul(prev)
        break
      }
    }
  }
  if (!found || inputs.has(found.name)) return null
  return found
}

/** Values per image of a named tensor, from the graph's declared shapes; null when not known. */
function declaredDim(model: OnnxModel, name: string): number | null {
  const vi = [
    ...(model.graph.output ?? []),
    ...((model.graph as { valueInfo?: typeof model.graph.output }).valueInfo ?? [])
  ]
  const d = dimsOf(vi.find((v) => v.name === name))
  if (!d || d.length < 2 || d.slice(1).some((x) => x === null)) return null
  return (d.slice(1) as number[]).reduce((a, b) => a * b, 1)
}

async function parse(path: string, opts: InspectOptions): Promise<Parsed> {
  const bytes = await readBounded(path, opts.maxBytes ?? MAX_ONNX_BYTES)
  const model = decode(bytes, path)
  const input = findImageInput(model, path)
  const feature = findFeatureOutput(model)
  const opset = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? null
  return {
    bytes,
    model,
    info: {
      input,
      outputs: (model.graph.output ?? []).map((o) => o.name),
      featureOutput: feature?.name ?? null,
      featureDim: feature?.dim ?? null,
      opset: opset === null ? null : Number(opset),
      producer: [model.producerName, model.producerVersion].filter(Boolean).join(' ')
    }
  }
}

/** The image input and the feature output of the ONNX model in `path` (see the module header). */
export async function inspectOnnxModel(path: string, opts: InspectOptions = {}): Promise<OnnxModelInfo> {
  return (await parse(path, opts)).info
}

/** `bytes` with `name` (float) added to the graph's outputs: a second `graph` field, merged by the parser. */
function withExtraOutput(bytes: Uint8Array, name: string): Uint8Array {
  const extra = encodeModel({
    graph: { output: [{ name, type: { tensorType: { elemType: FLOAT } } }] }
  } as unknown as OnnxModel)
  const out = new Uint8Array(bytes.length + extra.length)
  out.set(bytes, 0)
  out.set(extra, bytes.length)
  return out
}

/** Opens `path` in onnxruntime with `opts.output` (or the detected feature tensor) as the features. */
export async function createOnnxFeatureExtractor(
  path: string,
  opts: OnnxFeatureExtractorOptions = {}
): Promise<OnnxFeatureExtractor> {
  const { bytes, model, info } = await parse(path, opts)
  const output = opts.output ?? info.featureOutput
  if (!output) {
    throw new OnnxModelError(
      'no-feature-output',
      `${path}: no classifier head found to take the features from (outputs: ${info.outputs.join(', ')}); ` +
        'name the output to use',
      path
    )
  }
  const isGraphOutput = info.outputs.includes(output)
  if (!isGraphOutput && !model.graph.node.some((n) => (n.output ?? []).includes(output))) {
    throw new OnnxModelError(
      'output-not-found',
      `${path}: the model has no tensor '${output}' (outputs: ${info.outputs.join(', ')})`,
      path
    )
  }
  const ort = loadOnnxRuntime(opts.moduleId)
  const threads = opts.threads ?? Math.max(1, cpus().length)
  const session = await ort.InferenceSession.create(isGraphOutput ? bytes : withExtraOutput(bytes, output), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential'
  })
  const { input } = info
  const size = input.size
  const per = size * size * 3
  const batchCap = input.batch
  let disposed = false

  const runChunk = async (nhwc: Float32Array, n: number): Promise<Float32Array> => {
    let data = nhwc
    if (input.layout === 'NCHW') {
      data = new Float32Array(nhwc.length)
      const plane = size * size
      for (let i = 0; i < n; i++) {
        const base = i * per
        for (let p = 0; p < plane; p++) {
          data[base + p] = nhwc[base + p * 3]
          data[base + plane + p] = nhwc[base + p * 3 + 1]
          data[base + 2 * plane + p] = nhwc[base + p * 3 + 2]
        }
      }
    }
    const dims = input.layout === 'NCHW' ? [n, 3, size, size] : [n, size, size, 3]
    const results = await session.run({ [input.name]: new ort.Tensor('float32', data, dims) }, [output])
    const t = results[output]
    try {
      if (t.type !== 'float32') throw new Error(`output '${output}' is ${t.type}, expected float32`)
      if (t.dims[0] !== n) throw new Error(`output '${output}' has batch ${t.dims[0]} for ${n} images`)
      return new Float32Array(t.data as Float32Array)
    } finally {
      t.dispose()
    }
  }

  const run = async (batch: Float32Array, n: number): Promise<Float32Array> => {
    if (batchCap === null) return runChunk(batch, n)
    const parts: Float32Array[] = []
    for (let start = 0; start < n; start += batchCap) {
      const take = Math.min(batchCap, n - start)
      const chunk = new Float32Array(batchCap * per)
      chunk.set(batch.subarray(start * per, (start + take) * per))
      const out = await runChunk(chunk, batchCap)
      parts.push(out.subarray(0, (out.length / batchCap) * take))
    }
    const all = new Float32Array(parts.reduce((s, p) => s + p.length, 0))
    let o = 0
    for (const p of parts) {
      all.set(p, o)
      o += p.length
    }
    return all
  }

  let featureDim = declaredDim(model, output) ?? (output === info.featureOutput ? info.featureDim : null)
  try {
    const meta = session.outputMetadata.find((m) => m.name === output) as Ort.InferenceSession.ValueMetadata
    if (featureDim === null && meta?.isTensor) {
      const d = meta.shape.slice(1)
      if (d.length > 0 && d.every((x) => typeof x === 'number' && x > 0))
        featureDim = (d as number[]).reduce((a, b) => a * b, 1)
    }
    // Unknown from the file: one blank image tells.
    if (featureDim === null) featureDim = (await run(new Float32Array(per), 1)).length
  } catch (err) {
    await session.release()
    throw err
  }
  const dim = featureDim

  return {
    featureDim: dim,
    inputSize: size,
    layout: input.layout,
    output,
    info,
    async extract(batch: Float32Array, n: number): Promise<Float32Array> {
      if (disposed) throw new Error('the ONNX feature extractor was disposed')
      if (!Number.isInteger(n) || n < 1)
        throw new OnnxModelError('bad-batch', `n must be >= 1, got ${n}`, path)
      if (batch.length !== n * per) {
        throw new OnnxModelError(
          'bad-batch',
          `batch has ${batch.length} floats, expected ${n} x ${size} x ${size} x 3 = ${n * per}`,
          path
        )
      }
      const out = await run(batch, n)
      if (out.length !== n * dim) {
        throw new OnnxModelError(
          'bad-batch',
          `output '${output}' gave ${out.length / n} values per image, expected ${dim}`,
          path
        )
      }
      return out
    },
    async dispose(): Promise<void> {
      if (disposed) return
      disposed = true
      await session.release()
    }
  }
}
