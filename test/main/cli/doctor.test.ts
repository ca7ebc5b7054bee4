// `transfer-studio doctor`: the advice for machines we do not have (diagnose is pure, facts in, advice out),
// and the built CLI as a real process on this one (`npm test` builds first).
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { diagnose, type MachineFacts } from '../../../src/main/ml/tfjs/doctor'
import { BACKEND_NAMES } from '../../../src/main/ml/tfjs/backend'
import type { DoctorReport } from '../../../src/shared/doctor'
import { backendZhCN, formatMessage, formatTemplate } from '../../../src/shared/messages'
import { tempDir } from '../../helpers'

const run = promisify(execFile)
const BIN = resolve(__dirname, '../../../bin/transfer-studio.js')
const ROOT = resolve(__dirname, '../../..')
const BUILT = join(ROOT, 'out/main/cli.js')

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

const codes = (d: { advice: { code: string }[] }): string[] => d.advice.map((a) => a.code)

describe('doctor: what it advises', () => {
  it('on a 16-core Linux laptop on wasm: tfjs-node (N-API 8 on N-API 10) and the unused cores', () => {
    const d = diagnose(wasmLaptop)
    expect(d.summary).toBe(
      'TF.js backend: wasm (SIMD) (tfjs-node not installed); training uses 2 of 16 cores; onnxruntime: loaded'
    )
    expect(d.why).toEqual({
      code: 'doctor.why.nativeMissing',
      params: {},
      message: 'tfjs-node not installed'
    })
    expect(d.advice[0]).toMatchObject({
      code: 'doctor.advice.native',
      params: { napi: 10 },
      command: 'npm install @tensorflow/tfjs-node'
    })
    expect(d.advice[0].message).toMatch(/N-API 8.*N-API 10/)
    expect(d.advice.find((a) => a.code === 'doctor.advice.cores')).toMatchObject({
      params: { used: 2, cores: 16, max: 8 },
      message: expect.stringMatching(/2 of 16 cores/)
    })
    expect(codes(d)).not.toContain('doctor.advice.gpu')
    expect(d.advice.some((a) => /gpu/i.test(a.message + (a.command ?? '')))).toBe(false)
  })

  it('with an NVIDIA GPU: the opt-in GPU package first, by its npm script, with its CUDA and cuDNN versions', () => {
    const d = diagnose({ ...wasmLaptop, nvidiaGpu: true })
    expect(d.advice[0].code).toBe('doctor.advice.gpu')
    expect(d.advice[0].command).toBe('npm run backend:gpu')
    expect(d.advice[0].message).toMatch(/tfjs-node-gpu.*NVIDIA driver.*CUDA 11\.2.*cuDNN 8\.1/)
  })

  it('the GPU script installs the package the backend loader tries first, without saving it', () => {
    const pkg = JSON.parse(readFileSync(resolve(__dirname, '../../../package.json'), 'utf8')) as {
      scripts: Record<string, string>
      optionalDependencies: Record<string, string>
    }
    expect(pkg.scripts['backend:gpu']).toBe('npm install --no-save @tensorflow/tfjs-node-gpu@4.22.0')
    // Opt-in: no longer fetched (libtensorflow's CUDA build) by every Linux `npm ci`.
    expect(Object.keys(pkg.optionalDependencies)).toEqual(['@tensorflow/tfjs-node'])
    expect(BACKEND_NAMES[0]).toBe('tfjs-node-gpu')
  })

  it('with the GPU package running: no GPU advice', () => {
    const d = diagnose({
      ...wasmLaptop,
      nvidiaGpu: true,
      backend: { name: 'tfjs-node-gpu', tfBackend: 'tensorflow', version: '4.22.0', forced: false },
      trainThreads: 1
    })
    expect(d.advice).toEqual([])
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

  it('on tfjs-node with the GPU package not installed: says the GPU one is opt-in', () => {
    const d = diagnose({
      ...wasmLaptop,
      backend: {
        name: 'tfjs-node',
        tfBackend: 'tensorflow',
        version: '4.22.0',
        forced: false,
        reason: 'tfjs-node-gpu: not installed'
      },
      trainThreads: 1
    })
    expect(d.why.code).toBe('doctor.why.gpuOptIn')
    expect(d.summary).toContain('tfjs-node (tfjs-node-gpu not installed; it is opt-in)')
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
    expect(codes(d)).toEqual(['doctor.advice.noBinding', 'doctor.advice.simdOff', 'doctor.advice.onnx'])
    expect(d.advice[0].message).toBe(
      'tfjs-node publishes no binding for linux-arm64: the WebAssembly backend is the fastest here.'
    )
    expect(d.advice[1].message).toMatch(/SIMD is off/)
    expect(d.advice[2]).toMatchObject({
      params: { reason: 'cannot find module' },
      command: 'npm rebuild onnxruntime-node',
      message: expect.stringMatching(/onnxruntime-node did not load \(cannot find module\)/)
    })
  })

  it('on the cpu backend forced by TS_BACKEND: says it was forced and how to get back', () => {
    const d = diagnose({
      ...wasmLaptop,
      backend: { name: 'cpu', tfBackend: 'cpu', version: '4.22.0', forced: true },
      trainThreads: 1
    })
    expect(d.summary).toContain('cpu (forced by TS_BACKEND)')
    expect(d.why.code).toBe('doctor.why.forced')
    expect(d.advice.some((a) => /unset TS_BACKEND/.test(a.message))).toBe(true)
  })

  it('words every sentence from the catalogue: the Chinese has the same advice with the same parameters', () => {
    const d = diagnose({ ...wasmLaptop, nvidiaGpu: true, onnxRuntime: false, onnxRuntimeError: 'x' })
    for (const a of [d.why, ...d.advice]) {
      expect(a.message).toBe(formatMessage(a.code, a.params))
      expect(formatTemplate(backendZhCN[a.code], a.params)).toMatch(/[\u4e00-\u9fff]/)
    }
  })
})

describe.skipIf(!existsSync(BUILT))('doctor: the built CLI on this machine', () => {
  it('reports the backend that really runs, the cores and onnxruntime, as JSON and as text', async () => {
    const json = await run(process.execPath, [BIN, 'doctor', '--json'], { timeout: 60_000 })
    const out = JSON.parse(json.stdout) as DoctorReport
    // No tfjs-node here (its install needs a host this network cannot reach): WebAssembly with SIMD.
    expect(out.backend.name).toBe('wasm')
    expect(out.backend.simd).toBe(true)
    expect(out.cores).toBe(availableParallelism())
    expect(out.onnxRuntime).toBe(true)
    const native = out.advice.find((a) => a.code === 'doctor.advice.native')
    expect(native?.command).toBe('npm install @tensorflow/tfjs-node')
    expect(json.stderr).not.toMatch(/Hi, looks like/)
    const text = await run(process.execPath, [BIN, 'doctor'], { timeout: 60_000 })
    const lines = text.stdout.split('\n')
    expect(lines[0]).toBe(out.summary)
    expect(text.stdout).toContain('To train faster here:')
    // The English sentence, then its command on the next line.
    const at = lines.indexOf(`  - ${native?.message}`)
    expect(at).toBeGreaterThan(0)
    expect(lines[at + 1]).toBe('      $ npm install @tensorflow/tfjs-node')
  })
  it('once the opt-in GPU package is installed, the loader tries it first (a stand-in package on NODE_PATH)', async () => {
    // The real package needs CUDA and a download this network cannot make. The stand-in registers TF.js's
    // 'tensorflow' backend id from the CPU backend, as the native packages do, so only the choice is tested.
    const tmp = tempDir('ts-gpu-standin-')
    try {
      const pkg = join(tmp.dir, 'node_modules/@tensorflow/tfjs-node-gpu')
      mkdirSync(pkg, { recursive: true })
      const core = join(ROOT, 'node_modules/@tensorflow/tfjs-core')
      const cpu = join(ROOT, 'node_modules/@tensorflow/tfjs-backend-cpu')
      writeFileSync(join(pkg, 'package.json'), '{"name":"@tensorflow/tfjs-node-gpu","main":"index.js"}')
      writeFileSync(
        join(pkg, 'index.js'),
        `const tf = require(${JSON.stringify(core)})\nrequire(${JSON.stringify(cpu)})\n` +
          `tf.registerBackend('tensorflow', tf.findBackendFactory('cpu'), 0)\n` +
          `module.exports = { version: { 'tfjs-node': '4.22.0-stand-in' } }\n`
      )
      const env = { ...process.env, NODE_PATH: join(tmp.dir, 'node_modules'), TS_BACKEND: '' }
      const json = await run(process.execPath, [BIN, 'doctor', '--json'], { timeout: 60_000, env })
      const out = JSON.parse(json.stdout) as DoctorReport
      expect(out.backend).toMatchObject({ name: 'tfjs-node-gpu', version: '4.22.0-stand-in', forced: false })
      expect(out.why.code).toBe('doctor.why.first')
      expect(out.advice.map((a) => a.code)).not.toContain('doctor.advice.native')
    } finally {
      tmp.remove()
    }
  })
})
