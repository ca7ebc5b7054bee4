import { afterEach, describe, expect, it, vi } from 'vitest'
import { heapExports, simdKernelFailures } from '../../../../src/main/ml/tfjs/kernels/native/heap'

/** The WebAssembly API (the Node tsconfig has no DOM types that declare it). */
const WASM = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => object } })
  .WebAssembly

/** The one part of a wasm backend that heapExports reads: its WebAssembly memory. */
const backendWithHeap = (): unknown => ({ wasm: { asm: { memory: new WASM.Memory({ initial: 256 }) } } })

describe('SIMD kernel loader', () => {
  afterEach(() => vi.restoreAllMocks())

  it('says once why a module cannot be instantiated, keeps the reason, and returns null', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    // Eight bytes that are not a wasm module (wrong magic number).
    const broken = Buffer.from('notwasm!').toString('base64')
    expect(heapExports(backendWithHeap(), 'brokenKernel', broken)).toBeNull()
    expect(heapExports(backendWithHeap(), 'brokenKernel', broken)).toBeNull()
    expect(warn).toHaveBeenCalledTimes(1)
    expect(String(warn.mock.calls[0][0])).toMatch(/SIMD kernel brokenKernel could not be instantiated/)
    expect(simdKernelFailures().brokenKernel).toMatch(/\S/)
  })

  it('instantiates a valid module without a warning', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const { WASM_BASE64 } = await import('../../../../src/main/ml/tfjs/kernels/native/maxPoolGrad.wasm')
    const exports = heapExports(backendWithHeap(), 'maxPoolGrad', WASM_BASE64)
    expect(exports).not.toBeNull()
    expect(warn).not.toHaveBeenCalled()
    expect(simdKernelFailures().maxPoolGrad).toBeUndefined()
  })
})
