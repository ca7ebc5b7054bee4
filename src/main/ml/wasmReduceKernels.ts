// Faster wasm versions of three kernels that batch normalisation's forward and gradient lean on. Measured
// on the compact CNN (batch 64, 32 px, wasm SIMD, 2 shared cores): BN made a train step ~3.5x slower than
// the same net without BN, and most of that was
// - Tile of a per-channel vector [1,1,1,C] to [N,H,W,C] (tfjs-backend-wasm 4.22 computes every output
//   index separately: ~250 ms for 2 M values), and
// - Sum/Mean over the leading axes [0,1,2] (the per-channel statistics): the wasm kernel first transposes
//   the reduced axes to the end, a full copy of the activation, then reduces.
// Here Tile copies contiguous blocks (typed-array set/copyWithin) and the leading-axis reductions run as
// one pass over the rows [M, C] straight on the wasm heap. Every other case goes to the original kernel.
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs'

/** The parts of the wasm backend these kernels use. */
interface HeapBackend {
  makeOutput(shape: number[], dtype: string): TensorInfo
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array
}

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
