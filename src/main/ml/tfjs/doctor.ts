// What this machine gives the studio, and how to get more out of it (`transfer-studio doctor`): which TF.js
// backend runs and why the faster ones did not, the cores a training run uses, whether onnxruntime loaded,
// and the steps that would make it faster here. `diagnose` is pure (the facts come in, the advice goes out),
// so each piece of advice is tested on the machines we do not have; `gatherFacts` reads this process's. Each
// sentence is a catalogue key with its parameters (src/shared/messages) and its English text: the CLI prints
// the English, the About screen words the key in the user's language.
import { existsSync } from 'node:fs'
import { arch, availableParallelism, platform } from 'node:os'
import {
  GPU_INSTALL_COMMAND,
  type CodedLine,
  type BackendInfo,
  type DoctorAdvice,
  type MachineFacts
} from '../../../shared/doctor'
import { formatMessage, type MessageKey, type MessageParams } from '../../../shared/messages'
import type { BackendName } from '../../../shared/training'
import { MAX_DEFAULT_THREADS, trainThreads } from '../train/threads'
import { describeBackend, initBackend } from './backend'

export type { MachineFacts }

export interface Diagnosis {
  facts: MachineFacts
  /** Why this backend runs, as a catalogue sentence. */
  why: CodedLine
  /** One line in English: the backend and why, the cores, onnxruntime (the CLI's first line). */
  summary: string
  /** What would make training faster on this machine, most useful first; empty when nothing would. */
  advice: DoctorAdvice[]
}

/** Platforms tfjs-node publishes prebuilt N-API 8 bindings for (its binding.gyp and release assets). */
const TFJS_NODE_PLATFORMS = new Set(['linux-x64', 'darwin-x64', 'darwin-arm64', 'win32-x64'])

/** A catalogue sentence with its English text; the parameters are checked against the English template. */
function line<K extends MessageKey>(code: K, params: MessageParams<K>, command?: string): DoctorAdvice {
  const p = params as Record<string, string | number>
  return { code, params: p, message: formatMessage(code, p), ...(command ? { command } : {}) }
}

function whyLine(b: BackendInfo): CodedLine {
  if (b.forced) return line('doctor.why.forced', {})
  if (b.reason === undefined) return line('doctor.why.first', {})
  // The loader's two common summaries (backend.ts `summarise`): nothing native installed, or only the
  // opt-in GPU package missing in front of a native backend that runs.
  if (b.reason === 'tfjs-node not installed') return line('doctor.why.nativeMissing', {})
  if (b.reason === 'tfjs-node-gpu: not installed') return line('doctor.why.gpuOptIn', {})
  return line('doctor.why.skipped', { detail: b.reason })
}

export function diagnose(facts: MachineFacts): Diagnosis {
  const b = facts.backend
  const why = whyLine(b)
  const summary = formatMessage('doctor.summary', {
    backend: describeBackend(b),
    why: why.message,
    used: facts.trainThreads,
    cores: facts.cores,
    onnx: formatMessage(facts.onnxRuntime ? 'doctor.onnxLoaded' : 'doctor.onnxMissing')
  })
  const advice: DoctorAdvice[] = []
  const native: BackendName[] = ['tfjs-node', 'tfjs-node-gpu']
  const target = `${facts.platform}-${facts.arch}`
  if (facts.nvidiaGpu && b.name !== 'tfjs-node-gpu') {
    // Opt-in (package.json `backend:gpu`): a plain install would fetch the CUDA build on every Linux machine.
    advice.push(line('doctor.advice.gpu', {}, GPU_INSTALL_COMMAND))
  }
  if (!native.includes(b.name) && TFJS_NODE_PLATFORMS.has(target)) {
    advice.push(line('doctor.advice.native', { napi: facts.napi }, 'npm install @tensorflow/tfjs-node'))
  } else if (!native.includes(b.name)) {
    advice.push(line('doctor.advice.noBinding', { target }))
  }
  if (b.name === 'wasm' && b.simd === false) advice.push(line('doctor.advice.simdOff', {}))
  if (b.name === 'cpu') advice.push(line('doctor.advice.cpu', {}))
  if (b.name === 'wasm' && facts.cores > facts.trainThreads) {
    advice.push(
      line('doctor.advice.cores', {
        used: facts.trainThreads,
        cores: facts.cores,
        max: MAX_DEFAULT_THREADS
      })
    )
  }
  if (!facts.onnxRuntime) {
    const command = 'npm rebuild onnxruntime-node'
    advice.push(
      facts.onnxRuntimeError
        ? line('doctor.advice.onnx', { reason: facts.onnxRuntimeError }, command)
        : line('doctor.advice.onnxNoReason', {}, command)
    )
  }
  return { facts, why, summary, advice }
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
