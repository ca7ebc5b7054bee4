// Faster wasm versions of three kernels that batch normalisation's forward and gradient lean on. Measured
// on the compact CNN (batch 64, 32 px, wasm SIMD, 2 shared cores): BN made a train step ~3.5x slower than
// the same net without BN, and most of that was
// - Tile of a per-channel vector [1,1,1,C] to [N,H,W,C] (tfjs-backend-wasm 4.22 computes every output
//   index separately: ~250 ms for 2 M values), and
// - Sum/Mean over the leading axes [0,1,2] (the per-channel statistics): the wasm kernel first transposes
//   the reduced axes to the end, a full copy of the activation, then reduces.
// Here Tile copies contiguous blocks (typed-array set/copyWithin) and the leading-axis reductions run as
// one pass over the rows [M, C] straight on the wasm heap. Every other case goes to the original kernel.
import { backend_util, util } from '@tensorflow/tfjs'
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs'
import { WASM_BASE64 as MAX_POOL_GRAD_WASM } from './native/maxPoolGrad.wasm'
import { WASM_BASE64 as MAX_POOL_GRAD_WINDOWS_WASM } from './native/maxPoolGradWindows.wasm'
import { type HeapBackend, heapExports, heapOffset } from './native/heap'

const prod = (a: number[]): number => a.reduce((x, y) => x * y, 1)

/** Tile by block copies: each axis writes its first repetition, then copies it reps-1 times. */
export function makeTile(original: KernelFunc): KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo
    const reps = (args.attrs as unknown as { reps: number[] }).reps
    if (x.dtype === 'string' || reps.length !== x.shape.length || prod(x.shape) === 0) return original(args)
    const backend = args.backend as unknown as HeapBackend
    const shape = x.shape
    const outShape = shape.map((d, i) => d * reps[i])
    const out = backend.makeOutput(outShape, x.dtype)
    // Views after makeOutput: allocating may grow (and so detach) the wasm memory.
    const dst = backend.typedArrayFromHeap(out)
    const src = backend.typedArrayFromHeap(x)
    const rank = shape.length
    const srcStride = new Array<number>(rank)
    const dstStride = new Array<number>(rank)
    srcStride[rank - 1] = 1
    dstStride[rank - 1] = 1
    for (let i = rank - 2; i >= 0; i--) {
      srcStride[i] = srcStride[i + 1] * shape[i + 1]
      dstStride[i] = dstStride[i + 1] * outShape[i + 1]
    }
    const write = (axis: number, s: number, d: number): void => {
      if (axis === rank - 1) {
        const n = shape[axis]
        dst.set(src.subarray(s, s + n), d)
        for (let r = 1; r < reps[axis]; r++) dst.copyWithin(d + r * n, d, d + n)
        return
      }
      for (let j = 0; j < shape[axis]; j++) write(axis + 1, s + j * srcStride[axis], d + j * dstStride[axis])
      const block = shape[axis] * dstStride[axis]
      for (let r = 1; r < reps[axis]; r++) dst.copyWithin(d + r * block, d, d + block)
    }
    write(0, 0, 0)
    return out
  }
}

/**
 * SplitV (the grouped convolutions' split of the activations and of the kernel on the channel axis, every step)
 * by block copies: each output takes one contiguous run of `size * inner` values from each of the `outer`
 * rows. tfjs-backend-wasm 4.22 runs a strided Slice per output: splitting a full AlexNet's conv2 and conv4/5
 * inputs and kernels took 73 ms of a batch-16 train step.
 */
export function makeSplitV(original: KernelFunc): KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo
    if (x.dtype === 'string' || prod(x.shape) === 0) return original(args)
    const { numOrSizeSplits, axis } = args.attrs as unknown as {
      numOrSizeSplits: number | number[]
      axis: number
    }
    const ax = util.parseAxisParam(axis, x.shape)[0]
    const sizes = backend_util.prepareSplitSize(x as never, numOrSizeSplits, ax) as number[]
    const backend = args.backend as unknown as HeapBackend
    const outer = prod(x.shape.slice(0, ax))
    const inner = prod(x.shape.slice(ax + 1))
    const rowLen = x.shape[ax] * inner
    const outs = sizes.map((s) =>
      backend.makeOutput(
        x.shape.map((d, i) => (i === ax ? s : d)),
        x.dtype
      )
    )
    // Views after every makeOutput: allocating may grow (and so detach) the wasm memory.
    const src = backend.typedArrayFromHeap(x)
    let start = 0
    sizes.forEach((s, k) => {
      const dst = backend.typedArrayFromHeap(outs[k])
      const len = s * inner
      for (let o = 0; o < outer; o++)
        dst.set(src.subarray(o * rowLen + start, o * rowLen + start + len), o * len)
      start += len
    })
    return outs
  }
}

/** Rows M and columns C when `axis` are exactly the leading axes 0..k-1 (k < rank); else null. */
function leadingAxes(shape: number[], axis: number | number[]): { m: number; c: number; k: number } | null {
  const rank = shape.length
  const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b)
  if (axes.length === 0 || axes.length >= rank) return null
  if (!axes.every((a, i) => a === i)) return null
  return { m: prod(shape.slice(0, axes.length)), c: prod(shape.slice(axes.length)), k: axes.length }
}

function makeLeadingReduce(original: KernelFunc, mean: boolean): KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean }
    const lead = x.dtype === 'float32' ? leadingAxes(x.shape, axis) : null
    // Small inputs gain nothing; few columns would make the row loop short and slow.
    if (!lead || lead.m * lead.c < 4096 || lead.c < 4) return original(args)
    const backend = args.backend as unknown as HeapBackend
    const rest = x.shape.slice(lead.k)
    const outShape = keepDims ? [...x.shape.slice(0, lead.k).map(() => 1), ...rest] : rest
    const out = backend.makeOutput(outShape, 'float32')
    const dst = backend.typedArrayFromHeap(out) as Float32Array
    const src = backend.typedArrayFromHeap(x) as Float32Array
    const { m, c } = lead
    const acc = new Float64Array(c)
    for (let i = 0, o = 0; i < m; i++, o += c) for (let j = 0; j < c; j++) acc[j] += src[o + j]
    const f = mean ? 1 / m : 1
    for (let j = 0; j < c; j++) dst[j] = acc[j] * f
    return out
  }
}

export const makeSum = (original: KernelFunc): KernelFunc => makeLeadingReduce(original, false)
export const makeMean = (original: KernelFunc): KernelFunc => makeLeadingReduce(original, true)

interface MaxPoolGradAttrs {
  filterSize: [number, number] | number
  strides: [number, number] | number
  pad: 'valid' | 'same' | number
  dimRoundingMode?: 'floor' | 'round' | 'ceil'
}

/**
 * MaxPoolGrad (NHWC, float32) as one pass in JS over the wasm heap: every output position sends its dy to
 * the first maximum of its window in row-major order (what the cpu backend does, so ties after a ReLU break
 * the same way). tfjs-backend-wasm 4.22's own kernel is a scalar loop that took ~30 ms for one 2x2 pooling of
 * a [32, 32, 32, 16] activation; this takes about a tenth of that. Overlapping windows (AlexNet's 3x3 / 2)
 * accumulate. Where the channels are a multiple of 4, SIMD kernels run instead: native/maxPoolGrad.c for
 * 2x2 / 2 and native/maxPoolGradWindows.c for any other window (AlexNet's three 3x3 / 2 poolings took 67 ms
 * of a batch-16 train step in the JS loop).
 */
export function makeMaxPoolGrad(original: KernelFunc): KernelFunc {
  return (args) => {
    const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo }
    if (input.dtype !== 'float32' || input.shape.length !== 4) return original(args)
    const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as MaxPoolGradAttrs
    const info = backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      filterSize,
      strides,
      1,
      pad,
      dimRoundingMode
    )
    if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return original(args)
    const backend = args.backend as unknown as HeapBackend
    const out = backend.makeOutput(input.shape, 'float32')
    const dx = backend.typedArrayFromHeap(out) as Float32Array
    const x = backend.typedArrayFromHeap(input) as Float32Array
    const g = backend.typedArrayFromHeap(dy) as Float32Array
    const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info
    const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info
    const top = info.padInfo.top
    const left = info.padInfo.left
    const simd =
      is2x2(info) && C % 4 === 0 && dy.dtype === 'float32'
        ? heapExports(backend, 'maxPoolGrad', MAX_POOL_GRAD_WASM)
        : null
    if (simd) {
      const at = (t: TensorInfo) => heapOffset(backend, t)
      const run = simd.max_pool_grad_2x2 as (...offsetsAndSizes: number[]) => void
      run(at(input), at(dy), at(out), batchSize, H, W, C, OH, OW)
      if (2 * OH < H || 2 * OW < W) zeroOutside(dx, batchSize, H, W, C, 2 * OH, 2 * OW)
      return out
    }
    // Any other window (AlexNet's overlapping 3x3 / 2, SAME padding) in the general SIMD kernel.
    const windows =
      !is2x2(info) && C % 4 === 0 && dy.dtype === 'float32'
        ? heapExports(backend, 'maxPoolGradWindows', MAX_POOL_GRAD_WINDOWS_WASM)
        : null
    if (windows) {
      const at = (t: TensorInfo) => heapOffset(backend, t)
      const run = windows.max_pool_grad as (...offsetsAndSizes: number[]) => void
      run(at(input), at(dy), at(out), batchSize, H, W, C, OH, OW, fh, fw, sh, sw, top, left)
      return out
    }
    const rowStride = W * C
    if (is2x2(info)) {
      maxPoolGrad2x2(x, g, dx, batchSize, H, W, C, OH, OW)
      // Odd sizes leave a last row or column outside every window.
      if (2 * OH < H || 2 * OW < W) zeroOutside(dx, batchSize, H, W, C, 2 * OH, 2 * OW)
      return out
    }
    dx.fill(0)
    for (let b = 0; b < batchSize; b++) {
      const xb = b * H * rowStride
      for (let oy = 0; oy < OH; oy++) {
        const y0 = Math.max(0, oy * sh - top)
        const y1 = Math.min(H, oy * sh - top + fh)
        for (let ox = 0; ox < OW; ox++) {
          const x0 = Math.max(0, ox * sw - left)
          const x1 = Math.min(W, ox * sw - left + fw)
          const gi = ((b * OH + oy) * OW + ox) * C
          for (let c = 0; c < C; c++) {
            let best = -Infinity
            let at = -1
            for (let yy = y0; yy < y1; yy++) {
              const row = xb + yy * rowStride + c
              for (let xx = x0; xx < x1; xx++) {
                const v = x[row + xx * C]
                if (v > best) {
                  best = v
                  at = row + xx * C
                }
              }
            }
            if (at >= 0) dx[at] += g[gi + c]
          }
        }
      }
    }
    return out
  }
}

/** 2x2 windows at stride 2 with no padding, inside the input: the windows tile it without overlap. */
function is2x2(info: backend_util.Conv2DInfo): boolean {
  return (
    info.filterHeight === 2 &&
    info.filterWidth === 2 &&
    info.strideHeight === 2 &&
    info.strideWidth === 2 &&
    info.padInfo.top === 0 &&
    info.padInfo.left === 0 &&
    2 * info.outHeight <= info.inHeight &&
    2 * info.outWidth <= info.inWidth
  )
}

/**
 * The common 2x2 / stride 2 pooling without padding (in JS; the SIMD kernel native/maxPoolGrad.c does the
 * same where the channel count is a multiple of 4): windows do not overlap, so each of the four inputs of a
 * window is written once (dy to the first maximum in row-major order, 0 to the others) and dx needs no
 * zeroing pass. About 3x faster than the general loop above.
 */
function maxPoolGrad2x2(
  x: Float32Array,
  g: Float32Array,
  dx: Float32Array,
  batchSize: number,
  H: number,
  W: number,
  C: number,
  OH: number,
  OW: number
): void {
  const rowStride = W * C
  for (let b = 0; b < batchSize; b++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const r0 = (b * H + 2 * oy) * rowStride + 2 * ox * C
        const r1 = r0 + C
        const r2 = r0 + rowStride
        const r3 = r2 + C
        const gi = ((b * OH + oy) * OW + ox) * C
        for (let c = 0; c < C; c++) {
          const v0 = x[r0 + c]
          const v1 = x[r1 + c]
          const v2 = x[r2 + c]
          const v3 = x[r3 + c]
          let best = -Infinity
          let at = -1
          if (v0 > best) {
            best = v0
            at = 0
          }
          if (v1 > best) {
            best = v1
            at = 1
          }
          if (v2 > best) {
            best = v2
            at = 2
          }
          if (v3 > best) {
            best = v3
            at = 3
          }
          const d = g[gi + c]
          dx[r0 + c] = at === 0 ? d : 0
          dx[r1 + c] = at === 1 ? d : 0
          dx[r2 + c] = at === 2 ? d : 0
          dx[r3 + c] = at === 3 ? d : 0
        }
      }
    }
  }
}

/** Zeroes the rows >= h and the columns >= w of every image of dx [N, H, W, C]. */
function zeroOutside(
  dx: Float32Array,
  n: number,
  H: number,
  W: number,
  C: number,
  h: number,
  w: number
): void {
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < H; y++) {
      const row = (b * H + y) * W * C
      if (y >= h) dx.fill(0, row, row + W * C)
      else if (w < W) dx.fill(0, row + w * C, row + W * C)
    }
  }
}
