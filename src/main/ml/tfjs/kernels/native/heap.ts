// Loads the studio's WebAssembly SIMD kernels (the *.c beside this file, built into *.wasm.ts by
// scripts/build-wasm-kernels.sh) onto tfjs-backend-wasm's own memory: each module imports that memory, so a
// kernel computes on tensors where they are, given their byte offsets, with no copy. One instance per module
// and heap (each thread has its own backend and heap). Where a module cannot be instantiated (no wasm SIMD,
// or a backend without the expected internals), callers get null and keep their portable path.
import type { TensorInfo } from '@tensorflow/tfjs'

/** The parts of the wasm backend the kernels use. */
export interface HeapBackend {
  wasm?: { asm?: { memory?: unknown }; _malloc?: (bytes: number) => number }
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined }
  makeOutput(shape: number[], dtype: string): TensorInfo
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array
}

/** The WebAssembly API (the main process's tsconfig has no DOM types that declare it). */
interface WasmApi {
  Memory: abstract new (...args: never[]) => { buffer: ArrayBuffer }
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> }
}
const WASM = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly

const modules = new Map<string, object | null>()
const instances = new WeakMap<object, Map<string, Record<string, unknown> | null>>()
let enabled = true

/** Turns the SIMD kernels off (false: every caller takes its portable path) or on; for benchmarks and tests. */
export function setSimdKernelsEnabled(on: boolean): void {
  enabled = on
}

/** The backend's WebAssembly memory, or null (not the wasm backend, or kernels turned off). */
export function heapMemory(backend: unknown): { buffer: ArrayBuffer } | null {
  const memory = (backend as HeapBackend).wasm?.asm?.memory
  return enabled && memory instanceof WASM.Memory ? memory : null
}

/** The exports of module `name` (base64 wasm) instantiated on this backend's heap, or null. */
export function heapExports(backend: unknown, name: string, base64: string): Record<string, unknown> | null {
  const memory = heapMemory(backend)
  if (!memory) return null
  let perHeap = instances.get(memory)
  if (!perHeap) instances.set(memory, (perHeap = new Map()))
  let exports = perHeap.get(name)
  if (exports !== undefined) return exports
  try {
    let module = modules.get(name)
    if (module === undefined) modules.set(name, (module = new WASM.Module(Buffer.from(base64, 'base64'))))
    exports = module ? new WASM.Instance(module, { env: { memory } }).exports : null
  } catch {
    modules.set(name, null)
    exports = null
  }
  perHeap.set(name, exports)
  return exports
}

/** Where a tensor's values start in the wasm heap (read after every makeOutput: it may grow the heap). */
export const heapOffset = (backend: unknown, t: TensorInfo): number =>
  (backend as HeapBackend).dataIdMap.get(t.dataId)!.memoryOffset
