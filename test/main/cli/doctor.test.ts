// `transfer-studio doctor`: the advice for machines we do not have (diagnose is pure, facts in, advice out),
// and the built CLI as a real process on this one (`npm test` builds first).
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { diagnose, type MachineFacts } from '../../../src/main/ml/tfjs/doctor'

const run = promisify(execFile)
const BIN = resolve(__dirname, '../../../bin/transfer-studio.js')
const BUILT = resolve(__dirname, '../../../out/main/cli.js')

const wasmLaptop: MachineFacts = {
  backend: {
    name: 'wasm',
    tfBackend: 'wasm',
    version: '4.22.0',
    simd: true,
    forced: false,
    reason: 'tfjs-node not installed'
  },
  cores: 16,
  trainThreads: 2,
  onnxRuntime: true,
  node: '22.12.0',
  napi: 10,
  platform: 'linux',
  arch: 'x64',
  nvidiaGpu: false
}

describe('doctor: what it advises', () => {
  it('on a 16-core Linux laptop on wasm: tfjs-node (N-API 8 on N-API 10) and the unused cores', () => {
    const d = diagnose(wasmLaptop)
    expect(d.summary).toBe(
      'TF.js backend: wasm (SIMD) (tfjs-node not installed); training uses 2 of 16 cores; onnxruntime: loaded'
    )
    expect(d.advice[0]).toMatch(/npm install @tensorflow\/tfjs-node`.*N-API 8.*N-API 10/)
    expect(d.advice.some((a) => /2 of 16 cores/.test(a))).toBe(true)
    expect(d.advice.some((a) => /gpu/i.test(a))).toBe(false)
  })

  it('with an NVIDIA GPU: the GPU package first, with its CUDA and cuDNN versions', () => {
    const d = diagnose({ ...wasmLaptop, nvidiaGpu: true })
    expect(d.advice[0]).toMatch(/tfjs-node-gpu.*CUDA 11\.2.*cuDNN 8\.1/)
  })

  it('on native TensorFlow with onnxruntime: nothing to do', () => {
    const d = diagnose({
      ...wasmLaptop,
      backend: { name: 'tfjs-node', tfBackend: 'tensorflow', version: '4.22.0', forced: false },
      trainThreads: 1
    })
    expect(d.summary).toContain('tfjs-node (the first choice)')
    expect(d.advice).toEqual([])
  })

  it('where tfjs-node has no binding, without SIMD, and without onnxruntime', () => {
    const d = diagnose({
      ...wasmLaptop,
      arch: 'arm64',
      cores: 2,
      backend: { ...wasmLaptop.backend, simd: false },
      onnxRuntime: false,
      onnxRuntimeError: 'cannot find module'
    })
    expect(d.advice).toEqual([
      'tfjs-node publishes no binding for linux-arm64: the WebAssembly backend is the fastest here.',
      expect.stringMatching(/SIMD is off/),
      expect.stringMatching(
        /onnxruntime-node did not load \(cannot find module\): `npm rebuild onnxruntime-node`/
      )
    ])
  })

  it('on the cpu backend forced by TS_BACKEND: says it was forced and how to get back', () => {
    const d = diagnose({
      ...wasmLaptop,
      backend: { name: 'cpu', tfBackend: 'cpu', version: '4.22.0', forced: true },
      trainThreads: 1
    })
    expect(d.summary).toContain('cpu (forced by TS_BACKEND)')
    expect(d.advice.some((a) => /unset TS_BACKEND/.test(a))).toBe(true)
  })
})

describe.skipIf(!existsSync(BUILT))('doctor: the built CLI on this machine', () => {
  it('reports the backend that really runs, the cores and onnxruntime, as JSON and as text', async () => {
    const json = await run(process.execPath, [BIN, 'doctor', '--json'], { timeout: 60_000 })
    const out = JSON.parse(json.stdout) as MachineFacts & { summary: string; advice: string[] }
    // No tfjs-node here (its install needs a host this network cannot reach): WebAssembly with SIMD.
    expect(out.backend.name).toBe('wasm')
    expect(out.backend.simd).toBe(true)
    expect(out.cores).toBe(availableParallelism())
    expect(out.onnxRuntime).toBe(true)
    expect(out.advice.some((a) => a.includes('npm install @tensorflow/tfjs-node'))).toBe(true)
    expect(json.stderr).not.toMatch(/Hi, looks like/)
    const text = await run(process.execPath, [BIN, 'doctor'], { timeout: 60_000 })
    expect(text.stdout.split('\n')[0]).toBe(out.summary)
    expect(text.stdout).toContain('To train faster here:')
  })
})
