// Training kernels that @tensorflow/tfjs-backend-wasm 4.22 lacks, registered for the wasm backend only.
//
// The wasm backend has no `Conv2DBackpropFilter`, so without this module any conv net fails to train on
// it ("Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'"). Every other kernel an AlexNet or
// the compact CNN needs in a train step (Conv2DBackpropInput, MaxPoolGrad, LRN/LRNGrad, FusedBatchNorm,
// Step, ...) is already there; this was checked by running a real train step on wasm (see the tests).
//
// The filter gradient
//   dW[i, j, c, o] = sum_{n, y, x} xPad[n, y*s + i, x*s + j, c] * dy[n, y, x, o]
// runs in the studio's own WebAssembly SIMD kernel (native/convFilterGrad.c) when Cout is a multiple of 4: it
// computes straight on the wasm backend's heap, with no copy, transpose or packing. On the compact CNN's six
// layers at batch 16 it took 12.8 ms against 28.4 ms for the XNNPACK formulation below (which it replaces),
// and the XNNPACK one was measured with its filter already packed, i.e. at its best.
// Otherwise the filter gradient is one XNNPACK convolution on wasm tensors, with no copy through JS,
// which is a VALID convolution of x, laid out as [Cin, Hp, Wp, N] (channels act as the batch, the batch
// as the channels), with dy laid out as the filter [OH, OW, N, Cout] and dilation = the forward stride.
// Its output [Cin, >=kh, >=kw, Cout] is cropped to [Cin, kh, kw, Cout] and transposed to [kh, kw, Cin, Cout].
// The padding of the forward pass is passed to that convolution as explicit padding.
//
// Tile, Sum and Mean are wrapped too, for tfjs's own batch normalisation (the compact CNN's training now runs
// batchNorm.ts's two kernels instead; tfjs's path remains for other axes), MaxPoolGrad and SplitV (see
// wasmReduceKernels.ts), and LRN with LRNGrad (see wasmLrnKernels.ts). Identity shares data instead of copying
// (see makeIdentity). These native wasm kernels are wrapped (wasm only; each wrapper hands every case it does
// not speed up to the original kernel):
// - FusedConv2D and Conv2D at stride 1 (Cout a multiple of 4, linear or ReLU) run in the SIMD convolution
//   (native/conv2d.c), which packs the fresh weights in one pass instead of XNNPACK's per-call operator setup.
//   In a train step every ReLU conv layer's forward pass is a plain Conv2D (see makeConv2D).
// - Conv2DBackpropInput with stride 1 (conv2..conv5, the compact CNN's layers) is a forward convolution of dy
//   with the filter rotated by 180 degrees and its in/out channels swapped: in the SIMD convolution when Cin
//   is a multiple of 4, else in XNNPACK (about 6x faster than the native loop either way). For a model's
//   first convolution it is skipped (withoutInputGradient).
// - BatchMatMul with transposeA/transposeB (the Dense layers' gradients) falls to a naive loop in the wasm
//   backend; transposing the small operand explicitly keeps it on the XNNPACK path. A large right-hand
//   matrix that XNNPACK has not seen yet (fresh weights every train step) goes, for a batch of up to 64
//   rows, to the SIMD product (native/gemm.c), which reads it in place; otherwise the product is computed
//   as (B^T A^T)^T with B^T as the unpacked left operand (about as fast as packing, ~8x a cached product
//   for fc6, and its copy is freed at once).
import * as tf from '@tensorflow/tfjs'
import { backend_util, getKernel, registerKernel, unregisterKernel } from '@tensorflow/tfjs'
import type { KernelBackend, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs'
import { makeMaxPoolGrad, makeMean, makeSplitV, makeSum, makeTile } from './wasmReduceKernels'
import { registerWasmDepthwiseKernels } from './wasmDepthwiseKernels'
import { makeLrn, makeLrnGrad } from './wasmLrnKernels'
import { WASM_BASE64 as FILTER_GRAD_WASM } from './native/convFilterGrad.wasm'
import { WASM_BASE64 as CONV2D_WASM } from './native/conv2d.wasm'
import { WASM_BASE64 as GEMM_WASM } from './native/gemm.wasm'
import { type HeapBackend, heapExports, heapOffset, setSimdKernelsEnabled } from './native/heap'

const BACKEND = 'wasm'

/** Minimal view of the wasm backend that the kernel uses (dispose intermediates). */
interface DisposingBackend {
  disposeData(dataId: object, force?: boolean): boolean
}

/** Runs one registered wasm kernel directly on backend tensors (no engine tracking, no tape). */
function run(name: string, backend: unknown, inputs: Record<string, TensorInfo>, attrs: object): TensorInfo {
  const kernel = getKernel(name, BACKEND)
  if (!kernel) throw new Error(`wasm backend has no '${name}' kernel, needed by the filter gradient`)
  const out = kernel.kernelFunc({ inputs, backend: backend as KernelBackend, attrs: attrs as NamedAttrMap })
  return Array.isArray(out) ? out[0] : out
}

function free(backend: unknown, ...infos: TensorInfo[]): void {
  for (const info of infos) (backend as unknown as DisposingBackend).disposeData(info.dataId)
}

interface BackpropFilterAttrs {
  strides: [number, number] | number
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding
  dataFormat: 'NHWC' | 'NCHW'
  dimRoundingMode?: 'floor' | 'round' | 'ceil'
  filterShape: [number, number, number, number]
}

/** The studio's SIMD kernels (native/*.c): byte offsets into the wasm heap, then sizes. */
interface SimdKernels {
  /** conv_filter_grad(x, dy, dw, n, h, w, ci, oh, ow, co, kh, kw, sh, sw, top, left) */
  filterGrad: (...offsetsAndDims: number[]) => void
  /** conv2d(in, packed w, bias | 0, out, zeros, n, h, w, ci, oh, ow, co, kh, kw, sh, sw, top, left, relu) */
  conv2d: (...offsetsAndDims: number[]) => void
  /** pack_weights(w, packed, kh, kw, ci, co, flip): the filter in blocks of 8 output channels (conv2d.c) */
  packWeights: (...offsetsAndDims: number[]) => void
}

/** The convolution kernels on this backend's heap, or null (turned off, no wasm SIMD, another backend). */
function simdKernels(backend: unknown): SimdKernels | null {
  const fg = heapExports(backend, 'convFilterGrad', FILTER_GRAD_WASM)
  const cv = heapExports(backend, 'conv2d', CONV2D_WASM)
  if (!fg || !cv) return null
  return {
    filterGrad: fg.conv_filter_grad as SimdKernels['filterGrad'],
    conv2d: cv.conv2d as SimdKernels['conv2d'],
    packWeights: cv.pack_weights as SimdKernels['packWeights']
  }
}

/** Floats of a filter packed for conv2d.c: blocks of 8 output channels, the last padded with zeros. */
const packedSize = (kh: number, kw: number, ci: number, co: number): number =>
  Math.ceil(co / 8) * 8 * kh * kw * ci

/** Whether the studio's SIMD kernels run on the current wasm backend (see the header for when each applies). */
export function simdKernelsReady(): boolean {
  return simdKernels(tf.backend()) !== null
}

/** Filter gradient of conv2d (NHWC) on the wasm backend; see the header for the method. */
export const conv2DBackpropFilterWasm: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo }
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as BackpropFilterAttrs
  if (dataFormat !== 'NHWC') {
    throw new Error(`Conv2DBackpropFilter on wasm supports dataFormat 'NHWC' only, got '${dataFormat}'`)
  }
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast'
  )
  const [kh, kw, cin, cout] = filterShape
  const { top, bottom, left, right } = info.padInfo
  const [, outH, outW] = dy.shape
  if (outH === 0 || outW === 0) throw new Error('Conv2DBackpropFilter: empty output gradient')

  const heap = backend as unknown as HeapBackend
  const simd = cout % 4 === 0 && x.dtype === 'float32' && dy.dtype === 'float32' ? simdKernels(heap) : null
  if (simd) {
    const dW = heap.makeOutput([kh, kw, cin, cout], 'float32')
    const [n, h, w] = x.shape
    const { strideHeight: sh, strideWidth: sw } = info
    const at = (t: TensorInfo) => heapOffset(heap, t)
    simd.filterGrad(at(x), at(dy), at(dW), n, h, w, cin, outH, outW, cout, kh, kw, sh, sw, top, left)
    return dW
  }

  const xT = run('Transpose', backend, { x }, { perm: [3, 1, 2, 0] }) // [Cin, H, W, N]
  const dyT = run('Transpose', backend, { x: dy }, { perm: [1, 2, 0, 3] }) // [OH, OW, N, Cout]
  // The forward pass may leave rows/columns at the bottom/right unused (VALID with a remainder, or SAME
  // padding that overshoots); the correlation then yields more than kh x kw taps and is cropped below.
  const padBottom = Math.max(0, bottom)
  const padRight = Math.max(0, right)
  const corr = run(
    'Conv2D',
    backend,
    { x: xT, filter: dyT },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [top, padBottom],
        [left, padRight],
        [0, 0]
      ],
      dataFormat: 'NHWC',
      dilations: [info.strideHeight, info.strideWidth],
      dimRoundingMode: undefined
    }
  ) // [Cin, >= kh, >= kw, Cout]
  free(backend, xT, dyT)

  let cropped = corr
  if (corr.shape[1] !== kh || corr.shape[2] !== kw) {
    if (corr.shape[1] < kh || corr.shape[2] < kw) {
      free(backend, corr)
      throw new Error(`Conv2DBackpropFilter: internal shape error ${corr.shape} vs filter ${filterShape}`)
    }
    cropped = run('Slice', backend, { x: corr }, { begin: [0, 0, 0, 0], size: [cin, kh, kw, cout] })
    free(backend, corr)
  }
  const dW = run('Transpose', backend, { x: cropped }, { perm: [1, 2, 0, 3] }) // [kh, kw, Cin, Cout]
  free(backend, cropped)
  return dW
}

type BatchMatMulAttrs = { transposeA: boolean; transposeB: boolean }

const size = (t: TensorInfo) => t.shape.reduce((a, b) => a * b, 1)
const transpose2d = (backend: unknown, t: TensorInfo) => run('Transpose', backend, { x: t }, { perm: [1, 0] })

/** Right-hand matrices XNNPACK has already packed (weights used again, e.g. at inference). */
const seenRhs = new WeakSet<object>()
/**
 * Most rows of a for the SIMD product with a fresh large b: it reads b once and updates the whole output once
 * per four rows of b, so the output (rows x n) must stay in the L2 cache (1 MB at 64 x 4096).
 */
const GEMM_MAX_ROWS = 64
/** Below this many elements packing a fresh right-hand matrix is cheap. */
const PACK_LIMIT = 1 << 20

function makeBatchMatMul(original: KernelFunc): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { a, b } = inputs as { a: TensorInfo; b: TensorInfo }
    const { transposeA, transposeB } = attrs as unknown as BatchMatMulAttrs
    const plain2d =
      a.shape.length === 2 && b.shape.length === 2 && a.dtype === 'float32' && b.dtype === 'float32'
    if (!plain2d) return original({ inputs, backend, attrs })
    const call = (x: TensorInfo, y: TensorInfo) => {
      // Calls the native kernel directly (this wrapper is what getKernel returns now).
      const out = original({
        inputs: { a: x, b: y },
        backend,
        attrs: { transposeA: false, transposeB: false }
      })
      return (Array.isArray(out) ? out[0] : out) as TensorInfo
    }
    if (!transposeA && !transposeB) {
      if (size(b) < PACK_LIMIT || seenRhs.has(b.dataId)) return call(a, b)
      seenRhs.add(b.dataId)
      // A dense layer's fresh weights and a small batch: the SIMD kernel reads b in place (native/gemm.c).
      const [m, k] = a.shape
      const n = b.shape[1]
      const gemm = m <= GEMM_MAX_ROWS && n % 4 === 0 ? heapExports(backend, 'gemm', GEMM_WASM) : null
      if (gemm) {
        const heap = backend as unknown as HeapBackend
        const out = heap.makeOutput([m, n], 'float32')
        const at = (t: TensorInfo) => heapOffset(heap, t)
        ;(gemm.gemm_rows as (...args: number[]) => void)(at(a), at(b), at(out), m, k, n)
        return out
      }
      // (B^T A^T)^T: B^T is the left operand, which XNNPACK reads as is.
      const bT = transpose2d(backend, b)
      const aT = transpose2d(backend, a)
      const outT = call(bT, aT)
      free(backend, bT, aT)
      const out = transpose2d(backend, outT)
      free(backend, outT)
      return out
    }
    if (transposeA && !transposeB) {
      // A^T B: transpose A (for Dense dW, A is the activations [batch, in]); B (dy) is small to pack.
      const aT = transpose2d(backend, a)
      const out = call(aT, b)
      free(backend, aT)
      return out
    }
    if (!transposeA && transposeB) {
      if (size(a) <= size(b)) {
        // A B^T = (B A^T)^T: B (the weights, for Dense dx) is the unpacked left operand.
        const aT = transpose2d(backend, a)
        const outT = call(b, aT)
        free(backend, aT)
        const out = transpose2d(backend, outT)
        free(backend, outT)
        return out
      }
      const bT = transpose2d(backend, b)
      const out = call(a, bT)
      free(backend, bT)
      return out
    }
    // A^T B^T = (B A)^T
    const outT = call(b, a)
    const out = transpose2d(backend, outT)
    free(backend, outT)
    return out
  }
}

interface BackpropInputAttrs {
  strides: [number, number] | number
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding
  dataFormat: 'NHWC' | 'NCHW'
  dimRoundingMode?: 'floor' | 'round' | 'ceil'
  inputShape: [number, number, number, number]
}

/** Filters (data ids) whose convolution's input gradient is not wanted right now; see withoutInputGradient. */
const inputGradientUnused = new Set<object>()

/**
 * Runs `fn` with the input gradient of convolutions by these filters skipped on wasm (zeros instead). For a
 * model's first convolution, whose input is the batch itself: tfjs's fused conv2d computes the gradient of
 * every input in its custom gradient, and the tape then throws the image's gradient away. Only for code whose
 * gradients of those inputs are discarded (batchGradients); other backends ignore it.
 */
export function withoutInputGradient<T>(filters: tf.Tensor[], fn: () => T): T {
  const added = filters.map((f) => f.dataId).filter((id) => !inputGradientUnused.has(id))
  for (const id of added) inputGradientUnused.add(id)
  try {
    return fn()
  } finally {
    for (const id of added) inputGradientUnused.delete(id)
  }
}

function makeConv2DBackpropInput(original: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo }
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as BackpropInputAttrs
    if (inputGradientUnused.has(filter.dataId) && dy.dtype === 'float32') {
      const heap = backend as unknown as HeapBackend
      const dx = heap.makeOutput(inputShape, 'float32')
      heap.typedArrayFromHeap(dx).fill(0)
      return dx
    }
    if (dataFormat !== 'NHWC') return original(args)
    const info = backend_util.computeConv2DInfo(
      inputShape,
      filter.shape as [number, number, number, number],
      strides,
      1,
      pad,
      dimRoundingMode,
      false,
      'channelsLast'
    )
    if (info.strideHeight !== 1 || info.strideWidth !== 1) return original(args)
    const [kh, kw] = filter.shape
    const [, h, w] = inputShape
    const { top, left } = info.padInfo
    // dx[p] = sum_j dyPad[p + j] * wFlip[j] with dy padded by kh-1-top above and enough below for h rows.
    const padTop = kh - 1 - top
    const padLeft = kw - 1 - left
    const padBottom = h + kh - 1 - info.outHeight - padTop
    const padRight = w + kw - 1 - info.outWidth - padLeft
    if (Math.min(padTop, padLeft, padBottom, padRight) < 0) return original(args)
    const [n, , , cin] = inputShape
    const cout = filter.shape[3]
    const heap = backend as unknown as HeapBackend
    const simd =
      cin % 4 === 0 && dy.dtype === 'float32' && filter.dtype === 'float32' ? simdKernels(heap) : null
    if (simd) {
      // A forward convolution of dy with the flipped, channel-swapped filter; bottom/right padding is implicit.
      const swapped = heap.makeOutput([packedSize(kh, kw, cout, cin)], 'float32')
      const zeros = heap.makeOutput([cout], 'float32')
      const dx = heap.makeOutput(inputShape, 'float32')
      const at = (t: TensorInfo) => heapOffset(heap, t)
      simd.packWeights(at(filter), at(swapped), kh, kw, cout, cin, 1)
      const from = [n, info.outHeight, info.outWidth, cout] // dy: n, h, w, channels
      const to = [h, w, cin] // dx: h, w, channels
      simd.conv2d(at(dy), at(swapped), 0, at(dx), at(zeros), ...from, ...to, kh, kw, 1, 1, padTop, padLeft, 0)
      free(backend, swapped, zeros)
      return dx
    }
    const flipped = run('Reverse', backend, { x: filter }, { dims: [0, 1] })
    const swapped = run('Transpose', backend, { x: flipped }, { perm: [0, 1, 3, 2] }) // [kh, kw, Cout, Cin]
    free(backend, flipped)
    const dx = run(
      'Conv2D',
      backend,
      { x: dy, filter: swapped },
      {
        strides: [1, 1],
        pad: [
          [0, 0],
          [padTop, padBottom],
          [padLeft, padRight],
          [0, 0]
        ],
        dataFormat: 'NHWC',
        dilations: [1, 1],
        dimRoundingMode: undefined
      }
    )
    free(backend, swapped)
    return dx
  }
}

/** A stride or dilation attribute (one number or one per axis) that is 1 everywhere. */
const allOnes = (v: number | number[]): boolean => (typeof v === 'number' ? v === 1 : v.every((d) => d === 1))

interface FusedConvAttrs {
  strides: [number, number] | number
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding
  dataFormat: 'NHWC' | 'NCHW'
  dilations: [number, number] | number
  dimRoundingMode?: 'floor' | 'round' | 'ceil'
  activation: string
}

/**
 * A convolution in the SIMD kernel (native/conv2d.c) for NHWC, stride 1, no dilation, Cout a multiple of 4, a
 * rank-1 bias or none, and a linear or ReLU activation; null for anything else (XNNPACK runs it: AlexNet's
 * conv1, at stride 4 with 3 input channels, measured faster there). XNNPACK packs every fresh filter (each
 * train step's weights) and builds an indirection buffer per call; the SIMD kernel reads the filter as it is.
 */
function simdConv2D(
  backend: unknown,
  x: TensorInfo,
  filter: TensorInfo,
  bias: TensorInfo | undefined,
  a: FusedConvAttrs
): TensorInfo | null {
  const [kh, kw, cin, cout] = filter.shape
  const plain =
    a.dataFormat === 'NHWC' &&
    allOnes(a.strides) &&
    allOnes(a.dilations) &&
    (a.activation === 'linear' || a.activation === 'relu') &&
    cout % 4 === 0 &&
    x.dtype === 'float32' &&
    filter.dtype === 'float32' &&
    (!bias || (bias.shape.length === 1 && bias.shape[0] === cout && bias.dtype === 'float32'))
  const simd = plain ? simdKernels(backend) : null
  if (!simd) return null
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
    false,
    'channelsLast'
  )
  const heap = backend as unknown as HeapBackend
  const out = heap.makeOutput([x.shape[0], info.outHeight, info.outWidth, cout], 'float32')
  const zeros = heap.makeOutput([cin], 'float32')
  const packed = heap.makeOutput([packedSize(kh, kw, cin, cout)], 'float32')
  const at = (t: TensorInfo) => heapOffset(heap, t)
  simd.packWeights(at(filter), at(packed), kh, kw, cin, cout, 0)
  const offsets = [at(x), at(packed), bias ? at(bias) : 0, at(out), at(zeros)]
  const sizes = [...x.shape, info.outHeight, info.outWidth, cout, kh, kw, info.strideHeight, info.strideWidth]
  simd.conv2d(...offsets, ...sizes, info.padInfo.top, info.padInfo.left, a.activation === 'relu' ? 1 : 0)
  free(backend, zeros, packed)
  return out
}

/**
 * FusedConv2D (what conv layers run outside training, and in training with a linear activation) in the SIMD
 * convolution where simdConv2D applies: the compact CNN's six layers at batch 16 took 26.2 ms against 29.6.
 */
function makeFusedConv2D(original: KernelFunc): KernelFunc {
  return (args) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>
    if (!x || !filter || preluActivationWeights) return original(args)
    const out = simdConv2D(args.backend, x, filter, bias, args.attrs as unknown as FusedConvAttrs)
    return out ?? original(args)
  }
}

/**
 * Conv2D: in a train step tfjs splits a fused convolution with a ReLU into Conv2D, Add (the bias) and Relu
 * (fused ops are used under a gradient tape only with a linear activation), so every forward convolution of a
 * ReLU conv layer (all of AlexNet's) comes here, and to XNNPACK without this wrapper. On a full AlexNet train
 * step (batch 16) conv2..conv5 took 463 ms forward in XNNPACK, against 369 ms for their input gradients of the
 * same size in the SIMD kernel.
 */
function makeConv2D(original: KernelFunc): KernelFunc {
  return (args) => {
    const { x, filter } = args.inputs as Record<string, TensorInfo | undefined>
    if (!x || !filter) return original(args)
    const attrs = { ...(args.attrs as unknown as FusedConvAttrs), activation: 'linear' }
    return simdConv2D(args.backend, x, filter, undefined, attrs) ?? original(args)
  }
}

/**
 * Identity (what tf.clone and the tape's saved tensors run) shares the data and counts a reference, as the cpu
 * backend and the wasm backend's own Reshape do; tfjs-backend-wasm 4.22 copies every value instead. Tensor data
 * is never written in place (Variable.assign swaps the data id), so sharing is safe.
 */
function makeIdentity(original: KernelFunc): KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo
    if (x.dtype === 'string') return original(args)
    ;(args.backend as unknown as { incRef(dataId: object): void }).incRef(x.dataId)
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype }
  }
}

/** Kernels this module has wrapped, with both versions (wrapping twice would wrap the wrapper). */
const wrapped = new Map<string, { original: KernelConfig; fast: KernelConfig }>()

/**
 * Registers the missing training kernels for the wasm backend (and no other) and wraps the two slow ones
 * (see the header). Idempotent; call it after '@tensorflow/tfjs-backend-wasm' is imported (initBackend
 * does). Returns the names of the kernels it added or wrapped now.
 */
export function registerWasmTrainingKernels(): string[] {
  const added: string[] = []
  if (!getKernel('Conv2DBackpropFilter', BACKEND)) {
    registerKernel({
      kernelName: 'Conv2DBackpropFilter',
      backendName: BACKEND,
      kernelFunc: conv2DBackpropFilterWasm
    })
    added.push('Conv2DBackpropFilter')
  }
  added.push(...registerWasmDepthwiseKernels()) // depthwise conv gradients (wasmDepthwiseKernels.ts)
  const wraps: Array<[string, (original: KernelFunc) => KernelFunc]> = [
    ['Conv2DBackpropInput', makeConv2DBackpropInput],
    ['FusedConv2D', makeFusedConv2D],
    ['Conv2D', makeConv2D],
    ['BatchMatMul', makeBatchMatMul],
    // Batch normalisation's per-channel statistics and broadcasts (see wasmReduceKernels.ts).
    ['Tile', makeTile],
    ['Sum', makeSum],
    ['Mean', makeMean],
    // Max pooling's gradient: a scalar loop in tfjs-backend-wasm (see wasmReduceKernels.ts).
    ['MaxPoolGrad', makeMaxPoolGrad],
    // AlexNet's local response normalisation and its gradient: scalar loops in tfjs-backend-wasm (wasmLrnKernels.ts).
    ['LRN', makeLrn],
    ['LRNGrad', makeLrnGrad],
    // The grouped convolutions' channel split: a strided Slice per output in tfjs-backend-wasm (wasmReduceKernels.ts).
    ['SplitV', makeSplitV],
    ['Identity', makeIdentity]
  ]
  for (const [name, wrap] of wraps) {
    const original = getKernel(name, BACKEND)
    if (!original || wrapped.has(name)) continue // a missing one is reported by tfjs when a model needs it
    const fast: KernelConfig = { ...original, kernelFunc: wrap(original.kernelFunc) }
    unregisterKernel(name, BACKEND)
    registerKernel(fast)
    wrapped.set(name, { original, fast })
    added.push(name)
  }
  return added
}

/**
 * Switches the wrapped kernels back to tfjs's own (false) or to the fast paths (true), and every SIMD kernel
 * (native/*.c) off or on: off, each takes its portable path (XNNPACK or JS). For benchmarks and tests.
 */
export function useWasmFastPaths(enabled: boolean): void {
  setSimdKernelsEnabled(enabled)
  for (const [name, { original, fast }] of wrapped) {
    unregisterKernel(name, BACKEND)
    registerKernel(enabled ? fast : original)
  }
}
