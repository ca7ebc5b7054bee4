// A PyTorch state dict in memory (names and layouts exactly as torchvision's `state_dict()`), checked
// against an architecture's spec, and its tensors converted to the layouts TF.js layers hold:
//   Conv2d weight [out, in, kh, kw] (OIHW)        -> Conv2D kernel [kh, kw, in, out] (HWIO)
//   depthwise Conv2d weight [C, 1, kh, kw]        -> DepthwiseConv2D kernel [kh, kw, C, 1]
//   Linear weight [out, in]                       -> Dense kernel [in, out]; after a flattened C x H x W
//                                                    map (AlexNet's classifier.1) the rows are reordered
//                                                    from PyTorch's (c, h, w) to NHWC's (h, w, c)
//   BatchNorm2d weight, bias, running_mean, running_var -> gamma, beta, movingMean, movingVariance
// TF-free: the checks run before any TF.js memory is touched. Reading .pth files is a separate module;
// this one takes whatever it produced.
import {
  expectedStateDict,
  torchvisionSpec,
  type ArchSpec,
  type SpecNode,
  type TorchvisionArch
} from './spec'

export interface TorchTensor {
  shape: number[]
  data: Float32Array
}

/** Tensor name (e.g. `layer1.0.bn1.running_var`) -> tensor, float32, row-major as PyTorch stores it. */
export type TorchStateDict = Map<string, TorchTensor>

/** A tensor in a TF.js layer's layout. */
export interface TfTensorData {
  shape: number[]
  data: Float32Array
}

const fmt = (shape: readonly number[]): string => `[${shape.join(', ')}]`
const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1)

/** Counters PyTorch keeps beside the running statistics; they carry no weights and are skipped. */
export const isIgnoredTensor = (name: string): boolean => name.endsWith('num_batches_tracked')

/**
 * Throws, naming the first mismatch, unless `stateDict` holds exactly the tensors of `spec` (skipping
 * num_batches_tracked): a missing name, a wrong shape, a data length that disagrees with the shape,
 * non-finite values, or a name the architecture does not have.
 */
export function checkStateDict(spec: ArchSpec, stateDict: TorchStateDict): void {
  const expected = expectedStateDict(spec)
  const where = `${spec.arch} state dict`
  for (const [name, shape] of expected) {
    const t = stateDict.get(name)
    if (!t) throw new Error(`${where}: missing tensor '${name}' (expected shape ${fmt(shape)})`)
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))
      throw new Error(`${where}: tensor '${name}' has shape ${fmt(t.shape)}, expected ${fmt(shape)}`)
    if (!(t.data instanceof Float32Array) || t.data.length !== size(shape))
      throw new Error(
        `${where}: tensor '${name}' holds ${t.data?.length} values, its shape ${fmt(shape)} needs ${size(shape)}`
      )
    for (let i = 0; i < t.data.length; i++)
      if (!Number.isFinite(t.data[i]))
        throw new Error(`${where}: tensor '${name}' has a non-finite value at ${i}`)
  }
  for (const [name, t] of stateDict) {
    if (!expected.has(name) && !isIgnoredTensor(name))
      throw new Error(
        `${where}: unexpected tensor '${name}' (shape ${fmt(t.shape)}), not part of ${spec.arch}`
      )
  }
}

/** The class count of the state dict's head (rows of the last Linear weight), or undefined. */
export function stateDictClasses(spec: ArchSpec, stateDict: TorchStateDict): number | undefined {
  const w = stateDict.get(`${spec.head}.weight`)
  return w && w.shape.length === 2 ? w.shape[0] : undefined
}

/** OIHW -> HWIO. */
export function convKernelToTf(t: TorchTensor): TfTensorData {
  const [o, i, kh, kw] = t.shape
  const out = new Float32Array(t.data.length)
  const src = t.data
  for (let n = 0; n < o; n++)
    for (let c = 0; c < i; c++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++)
          out[((y * kw + x) * i + c) * o + n] = src[((n * i + c) * kh + y) * kw + x]
  return { shape: [kh, kw, i, o], data: out }
}

/** [C, 1, kh, kw] -> [kh, kw, C, 1]. */
export function depthwiseKernelToTf(t: TorchTensor): TfTensorData {
  const [c, , kh, kw] = t.shape
  const out = new Float32Array(t.data.length)
  for (let ch = 0; ch < c; ch++)
    for (let y = 0; y < kh; y++)
      for (let x = 0; x < kw; x++) out[(y * kw + x) * c + ch] = t.data[(ch * kh + y) * kw + x]
  return { shape: [kh, kw, c, 1], data: out }
}

/**
 * [out, in] -> [in, out]. With `chw` (the input is a flattened [C, H, W] map), TF row (h * W + w) * C + c
 * takes PyTorch column c * H * W + h * W + w, because NHWC flattens channels last.
 */
export function linearKernelToTf(t: TorchTensor, chw?: readonly [number, number, number]): TfTensorData {
  const [o, i] = t.shape
  const out = new Float32Array(t.data.length)
  const src = t.data
  if (!chw) {
    for (let n = 0; n < o; n++) for (let k = 0; k < i; k++) out[k * o + n] = src[n * i + k]
  } else {
    const [c, h, w] = chw
    if (c * h * w !== i) throw new Error(`Linear: ${i} inputs do not match a [${c}, ${h}, ${w}] map`)
    for (let n = 0; n < o; n++) {
      const row = n * i
      for (let ch = 0; ch < c; ch++)
        for (let y = 0; y < h; y++)
          for (let x = 0; x < w; x++) out[((y * w + x) * c + ch) * o + n] = src[row + (ch * h + y) * w + x]
    }
  }
  return { shape: [i, o], data: out }
}

/** Whether a conv node becomes TF's DepthwiseConv2D (groups == in == out); other groupings are not used here. */
export const isDepthwise = (node: SpecNode & { op: 'conv' }): boolean =>
  node.groups > 1 && node.groups === node.inChannels && node.groups === node.outChannels

/**
 * The weights of a spec node's TF.js layer, in its getWeights() order, from a checked state dict:
 * Conv2D / DepthwiseConv2D [kernel, bias?], Dense [kernel, bias], BatchNormalization [gamma, beta,
 * movingMean, movingVariance]. Nodes without weights give [].
 */
export function tfWeightsOf(node: SpecNode, stateDict: TorchStateDict): TfTensorData[] {
  const get = (suffix: string): TorchTensor => {
    const t = stateDict.get(`${node.name}.${suffix}`)
    if (!t) throw new Error(`state dict lacks '${node.name}.${suffix}'`)
    return t
  }
  const copy = (t: TorchTensor): TfTensorData => ({ shape: [...t.shape], data: t.data })
  switch (node.op) {
    case 'conv': {
      const w = get('weight')
      const kernel = isDepthwise(node) ? depthwiseKernelToTf(w) : convKernelToTf(w)
      return node.bias ? [kernel, copy(get('bias'))] : [kernel]
    }
    case 'linear':
      return [linearKernelToTf(get('weight'), node.flattenedChw), copy(get('bias'))]
    case 'batchnorm':
      return ['weight', 'bias', 'running_mean', 'running_var'].map((s) => copy(get(s)))
    default:
      return []
  }
}

/**
 * Checks tensor names and shapes only (what a `.pth` file's structure gives, before any data is read):
 * every tensor of `arch` present with its shape, nothing the architecture does not have. The head (the
 * last Linear) may have any number of classes, since a new head replaces it. Returns the head's classes;
 * throws naming the first mismatch.
 */
export function checkStateDictShapes(arch: TorchvisionArch, shapes: Map<string, readonly number[]>): number {
  const head = torchvisionSpec(arch).head
  const w = shapes.get(`${head}.weight`)
  const classes = w && w.length === 2 ? w[0] : 1000
  const spec = torchvisionSpec(arch, { numClasses: classes })
  const where = `${arch} state dict`
  for (const [name, shape] of expectedStateDict(spec)) {
    const got = shapes.get(name)
    if (!got) throw new Error(`${where}: missing tensor '${name}' (expected shape ${fmt(shape)})`)
    if (got.length !== shape.length || got.some((d, i) => d !== shape[i]))
      throw new Error(`${where}: tensor '${name}' has shape ${fmt(got)}, expected ${fmt(shape)}`)
  }
  const expected = expectedStateDict(spec)
  for (const [name, shape] of shapes) {
    if (!expected.has(name) && !isIgnoredTensor(name))
      throw new Error(`${where}: unexpected tensor '${name}' (shape ${fmt(shape)}), not part of ${arch}`)
  }
  return classes
}
