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

/**
 * The TF.js backend a training run gets here (the same choice the training worker makes): what
 * src/main/ml/tfjs/backend.ts reports after it picks one.
 */
export interface BackendInfo {
  /** Which of our backends runs. */
  name: BackendName
  /** The TF.js backend id behind it: 'tensorflow' (both native ones), 'wasm' or 'cpu'. */
  tfBackend: string
  /** Version of the package that provides it (tfjs-node, tfjs-backend-wasm or tfjs-core). */
  version: string
  /** wasm only: whether the SIMD build is in use. */
  simd?: boolean
  /** wasm only: whether the multi-threaded build is in use (it is not under plain Node). */
  threads?: boolean
  /** wasm only: number of threads XNNPACK uses. */
  threadCount?: number
  /** Why the backends before it were skipped, e.g. 'tfjs-node not installed'; absent when it was first. */
  reason?: string
  /** True when TS_BACKEND or the `prefer` option chose it. */
  forced: boolean
}

/** What this machine gives the studio (src/main/ml/tfjs/doctor.ts `gatherFacts`, in the process that trains). */
export interface MachineFacts {
  backend: BackendInfo
  /** Logical cores (`os.availableParallelism`). */
  cores: number
  /** The threads a training run uses on this backend (data-parallel gradient workers included). */
  trainThreads: number
  /** Whether onnxruntime-node loaded (feature extraction on ONNX bases, ONNX export checks). */
  onnxRuntime: boolean
  /** Why onnxruntime did not load (its first line, in English), when it did not. */
  onnxRuntimeError?: string
  /** `process.versions.node` and `process.versions.napi`. */
  node: string
  napi: number
  platform: string
  arch: string
  /** An NVIDIA driver is visible (Linux: /dev/nvidiactl; elsewhere unknown = false). */
  nvidiaGpu: boolean
}

/** What `system:doctor` answers: the doctor's facts and advice, and the app's version. */
export interface DoctorReport extends MachineFacts {
  appVersion: string
  /** Why this backend runs (forced, the first choice, or what was skipped). */
  why: CodedLine
  /** The doctor's first line, in English. */
  summary: string
  /** Most useful first; empty when nothing would make training faster here. */
  advice: DoctorAdvice[]
}

/** The npm script that installs the GPU package (opt-in: package.json `backend:gpu`). */
export const GPU_INSTALL_COMMAND = 'npm run backend:gpu'
