// What this machine gives the studio, and how to get more out of it (`transfer-studio doctor`): which TF.js
// backend runs and why the faster ones did not, the cores a training run uses, whether onnxruntime loaded,
// and the steps that would make it faster here. `diagnose` is pure (the facts come in, the advice goes out),
// so each piece of advice is tested on the machines we do not have; `gatherFacts` reads this process's.
import { existsSync } from 'node:fs'
import { arch, availableParallelism, platform } from 'node:os'
import type { BackendName } from '../../../shared/training'
import { trainThreads } from '../train/dataParallel'
import { describeBackend, initBackend, type BackendInfo } from './backend'

export interface MachineFacts {
  backend: BackendInfo
  /** Logical cores (`os.availableParallelism`). */
  cores: number
  /** The threads a training run uses on this backend (data-parallel gradient workers included). */
  trainThreads: number
  /** Whether onnxruntime-node loaded (feature extraction on ONNX bases, ONNX export checks). */
  onnxRuntime: boolean
  /** Why onnxruntime did not load, when it did not. */
  onnxRuntimeError?: string
  /** `process.versions.node` and `process.versions.napi`. */
  node: string
  napi: number
  platform: NodeJS.Platform
  arch: string
  /** An NVIDIA driver is visible (Linux: /dev/nvidiactl; elsewhere unknown = false). */
  nvidiaGpu: boolean
}

export interface Diagnosis {
  facts: MachineFacts
  /** One line: the backend and why. */
  summary: string
  /** What would make training faster on this machine, most useful first; empty when nothing would. */
  advice: string[]
}

/** Platforms tfjs-node publishes prebuilt N-API 8 bindings for (its binding.gyp and release assets). */
const TFJS_NODE_PLATFORMS = new Set(['linux-x64', 'darwin-x64', 'darwin-arm64', 'win32-x64'])

export function diagnose(facts: MachineFacts): Diagnosis {
  const b = facts.backend
  const why = b.forced ? 'forced by TS_BACKEND' : (b.reason ?? 'the first choice')
  const summary =
    `TF.js backend: ${describeBackend(b)} (${why}); training uses ${facts.trainThreads} of ` +
    `${facts.cores} cores; onnxruntime: ${facts.onnxRuntime ? 'loaded' : 'not available'}`
  const advice: string[] = []
  const native: BackendName[] = ['tfjs-node', 'tfjs-node-gpu']
  const target = `${facts.platform}-${facts.arch}`
  if (facts.nvidiaGpu && b.name !== 'tfjs-node-gpu') {
    advice.push(
      'An NVIDIA GPU is visible: `npm install @tensorflow/tfjs-node-gpu` (needs CUDA 11.2 and cuDNN 8.1 on the ' +
        'library path) trains on it; then run with TS_BACKEND=tfjs-node-gpu to check that it loads.'
    )
  }
  if (!native.includes(b.name) && TFJS_NODE_PLATFORMS.has(target)) {
    advice.push(
      `Native TensorFlow on the CPU: \`npm install @tensorflow/tfjs-node\`. Its prebuilt binding is N-API 8, ` +
        `which this Node (N-API ${facts.napi}) runs because N-API is ABI-stable; its install downloads ` +
        'libtensorflow, so it needs the internet once (README, "A faster backend").'
    )
  } else if (!native.includes(b.name)) {
    advice.push(`tfjs-node publishes no binding for ${target}: the WebAssembly backend is the fastest here.`)
  }
  if (b.name === 'wasm' && b.simd === false) {
    advice.push(
      'WebAssembly SIMD is off: a newer Node or Electron (any from Node 16.4) turns it on, about 2-3x faster.'
    )
  }
  if (b.name === 'cpu') {
    advice.push(
      'The plain JavaScript backend is the slowest: unset TS_BACKEND, or reinstall to get WebAssembly.'
    )
  }
  if (b.name === 'wasm' && facts.cores > facts.trainThreads) {
    advice.push(
      `Training uses ${facts.trainThreads} of ${facts.cores} cores on WebAssembly (TS_TRAIN_THREADS sets it, ` +
        'at most 2 today); the native backend uses them all.'
    )
  }
  if (!facts.onnxRuntime) {
    advice.push(
      'onnxruntime-node did not load' +
        (facts.onnxRuntimeError ? ` (${facts.onnxRuntimeError})` : '') +
        ': `npm rebuild onnxruntime-node`; ONNX bases and the export check need it.'
    )
  }
  return { facts, summary, advice }
}

/** The facts of this process; starts the TF.js backend if it has not started. */
export async function gatherFacts(loadOnnx: () => void): Promise<MachineFacts> {
  const backend = await initBackend({ logger: () => {} })
  let onnxRuntime = true
  let onnxRuntimeError: string | undefined
  try {
    loadOnnx()
  } catch (err) {
    onnxRuntime = false
    onnxRuntimeError = err instanceof Error ? err.message.split('\n')[0] : String(err)
  }
  return {
    backend,
    cores: availableParallelism(),
    trainThreads: trainThreads(backend.name),
    onnxRuntime,
    onnxRuntimeError,
    node: process.versions.node,
    napi: Number(process.versions.napi),
    platform: platform(),
    arch: arch(),
    nvidiaGpu: platform() === 'linux' && existsSync('/dev/nvidiactl')
  }
}
