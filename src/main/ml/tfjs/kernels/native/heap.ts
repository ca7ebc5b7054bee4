// Loads the studio's WebAssembly SIMD kernels (the *.c beside this file, built into *.wasm.ts by
// scripts/build-wasm-kernels.sh) onto tfjs-backend-wasm's own memory: each module imports that memory, so a
// kernel computes on tensors where they are, given their byte offsets, with no copy. One instance per module
// and heap (each thread has its own backend and heap). Where a module cannot be instantiated (no wasm SIMD,
// or a backend without the expected internals), callers get null and keep their portable path; a module
// that fails to instantiate is said once on the console and kept in `simdKernelFailures()`, because a silent
// fallback made a broken build look like a slow machine.
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
/** Why a module could not be instantiated, by module name. */
const failures = new Map<string, string>()
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
  } catch (err) {
    modules.set(name, null)
    exports = null
    if (!failures.has(name)) {
      const reason = err instanceof Error ? err.message : String(err)
      failures.set(name, reason)
      console.warn(
        `SIMD kernel ${name} could not be instantiated (${reason}); its portable path runs instead`
      )
    }
  }
  perHeap.set(name, exports)
  return exports
}

/** The SIMD modules that failed to instantiate in this process, with the reason (for diagnostics). */
export function simdKernelFailures(): Record<string, string> {
  return Object.fromEntries(failures)
}

/** Where a tensor's values start in the wasm heap (read after every makeOutput: it may grow the heap). */
export const heapOffset = (backend: unknown, t: TensorInfo): number =>
  (backend as HeapBackend).dataIdMap.get(t.dataId)!.memoryOffset
