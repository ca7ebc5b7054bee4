// Local response normalisation (AlexNet's lrn1 and lrn2, src/main/ml/layers) and its gradient on the wasm
// backend in the studio's WebAssembly SIMD kernel (native/lrn.c), in place of tfjs-backend-wasm 4.22's scalar
// loops (LRN in its C++, LRNGrad likewise, each calling pow per value). Measured on a full AlexNet train
// step at batch 16 on one thread: the two forward passes took 88 ms and the two gradients 133 ms there.
// The wrappers run the SIMD kernel for float32 NHWC input with the channels a multiple of 4 and beta 0.5,
// 0.75 (AlexNet's) or 1, whose power the kernel computes with square roots; every other case goes to the
// original kernel.
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs'
import { WASM_BASE64 as LRN_WASM } from './native/lrn.wasm'
import { type HeapBackend, heapExports, heapOffset } from './native/heap'

interface LrnAttrs {
  depthRadius: number
  bias: number
  alpha: number
  beta: number
}

/** The kernel's mode for beta (see lrn.c), or -1 where it has none. */
function betaMode(beta: number): number {
  return beta === 0.5 ? 0 : beta === 0.75 ? 1 : beta === 1 ? 2 : -1
}

/** Whether the SIMD kernel takes this input; its exports, or null. */
function lrnKernel(backend: unknown, x: TensorInfo, a: LrnAttrs): Record<string, unknown> | null {
  const usable =
    x.dtype === 'float32' &&
    x.shape.length === 4 &&
    x.shape[3] % 4 === 0 &&
    Number.isInteger(a.depthRadius) &&
    a.depthRadius >= 0 &&
    betaMode(a.beta) >= 0
  return usable ? heapExports(backend, 'lrn', LRN_WASM) : null
}

const free = (backend: unknown, t: TensorInfo): void => {
  ;(backend as { disposeData(id: object): void }).disposeData(t.dataId)
}

/** LRN (forward) in the SIMD kernel where it applies; see the header. */
export function makeLrn(original: KernelFunc): KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo
    const a = args.attrs as unknown as LrnAttrs
    const simd = lrnKernel(args.backend, x, a)
    if (!simd) return original(args)
    const heap = args.backend as unknown as HeapBackend
    const c = x.shape[3]
    const r = a.depthRadius
    const out = heap.makeOutput(x.shape, 'float32')
    const scratch = heap.makeOutput([2 * (c + 2 * r)], 'float32')
    const at = (t: TensorInfo) => heapOffset(heap, t)
    const pixels = x.shape[0] * x.shape[1] * x.shape[2]
    const run = simd.lrn as (...args: number[]) => void
    run(at(x), at(out), at(scratch), pixels, c, r, a.bias, a.alpha, betaMode(a.beta))
    free(heap, scratch)
    return out
  }
}

/** LRNGrad (inputs x, y = LRN(x) and dy) in the SIMD kernel where it applies; see the header. */
export function makeLrnGrad(original: KernelFunc): KernelFunc {
  return (args) => {
    const { x, y, dy } = args.inputs as { x: TensorInfo; y: TensorInfo; dy: TensorInfo }
    const a = args.attrs as unknown as LrnAttrs
    const simd = y.dtype === 'float32' && dy.dtype === 'float32' ? lrnKernel(args.backend, x, a) : null
    if (!simd) return original(args)
    const heap = args.backend as unknown as HeapBackend
    const c = x.shape[3]
    const r = a.depthRadius
    const dx = heap.makeOutput(x.shape, 'float32')
    const scratch = heap.makeOutput([2 * (c + 2 * r)], 'float32')
    const at = (t: TensorInfo) => heapOffset(heap, t)
    const pixels = x.shape[0] * x.shape[1] * x.shape[2]
    const run = simd.lrn_grad as (...args: number[]) => void
    run(at(x), at(y), at(dy), at(dx), at(scratch), pixels, c, r, a.bias, a.alpha, a.beta, betaMode(a.beta))
    free(heap, scratch)
    return dx
  }
}
