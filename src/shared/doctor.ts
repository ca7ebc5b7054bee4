// What the studio knows about the machine it trains on, as `transfer-studio doctor` prints it and the About
// screen shows it (channel `system:doctor`): the TF.js backend that runs and why, the cores a training run
// uses, whether onnxruntime loaded, and the advice that would make training faster here. Sentences cross as
// catalogue keys with their parameters (src/shared/messages), so the screen words them in the user's
// language while the CLI prints the English `message` beside each.
import type { MessageKey } from './messages'
import type { BackendName } from './training'

/** One sentence: its catalogue key and parameters, and the same in English. */
export interface CodedLine {
  code: MessageKey
  params: Record<string, string | number>
  /** The English text (what the CLI prints). */
  message: string
}

/** One step that would make training faster on this machine. */
export interface DoctorAdvice extends CodedLine {
  /** The command to run in the studio's folder, when the step is one (shown to copy). */
  command?: string
}

/** The TF.js backend a training run gets here (the same choice the training worker makes). */
export interface DoctorBackend {
  name: BackendName
  /** The TF.js backend id behind it: 'tensorflow' (both native ones), 'wasm' or 'cpu'. */
  tfBackend: string
  /** Version of the package that provides it. */
  version: string
  /** wasm only: whether the SIMD build is in use. */
  simd?: boolean
  /** wasm only: whether the multi-threaded build is in use. */
  threads?: boolean
  threadCount?: number
  /** Why the backends before it were skipped (English, from the loader). */
  reason?: string
  /** True when TS_BACKEND chose it. */
  forced: boolean
}

/** What `system:doctor` answers: the doctor's facts and advice, and the app's version. */
export interface DoctorReport {
  appVersion: string
  backend: DoctorBackend
  /** Why this backend runs (forced, the first choice, or what was skipped). */
  why: CodedLine
  /** Logical cores (`os.availableParallelism`). */
  cores: number
  /** Threads a training run uses on this backend (data-parallel gradient workers included). */
  trainThreads: number
  /** Whether onnxruntime-node loaded (ONNX bases, the export check). */
  onnxRuntime: boolean
  /** Why it did not load (its first line, in English), when it did not. */
  onnxRuntimeError?: string
  /** `process.versions.node` and `.napi` of the process that trains. */
  node: string
  napi: number
  platform: string
  arch: string
  /** An NVIDIA driver is visible (Linux: /dev/nvidiactl). */
  nvidiaGpu: boolean
  /** The doctor's first line, in English. */
  summary: string
  /** Most useful first; empty when nothing would make training faster here. */
  advice: DoctorAdvice[]
}

/** The npm script that installs the GPU package (opt-in: package.json `backend:gpu`). */
export const GPU_INSTALL_COMMAND = 'npm run backend:gpu'
