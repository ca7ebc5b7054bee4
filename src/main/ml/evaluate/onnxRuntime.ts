// Frozen forward passes in onnxruntime-node, for models written by exportOnnx (NHWC float32 `input`,
// one `output`). onnxruntime's CPU kernels (MLAS, multi-threaded) spend about a third of the CPU time
// per image that TF.js's wasm backend does on AlexNet (bench/onnx.ts), and use every core, which matters
// for feature extraction over a whole library.
//
// onnxruntime-node is a native addon that may be missing or built for another ABI (e.g. inside an
// Electron build that skipped it), so it is loaded with a guarded run-time require: `create` then throws
// OnnxRuntimeUnavailable and callers fall back to TF.js.
import { createRequire } from 'node:module'
import { cpus } from 'node:os'
import { join } from 'node:path'
import type * as Ort from 'onnxruntime-node'
import { readBounded } from '../../fs/safeFile'

/** The largest .onnx file read (protobuf's 2 GiB limit); a path is read by the studio, not by onnxruntime. */
const MAX_ONNX_FILE_BYTES = 2 ** 31 - 1

export type OrtModule = typeof Ort

/** onnxruntime-node could not be loaded: fall back to TF.js. */
export class OnnxRuntimeUnavailable extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'OnnxRuntimeUnavailable'
  }
}

/** `require` that bundlers do not follow (the id is a variable) and that works in CJS and vitest alike. */
const nodeRequire: NodeJS.Require =
  typeof require === 'function' ? require : createRequire(join(process.cwd(), 'noop.js'))

const loaded = new Map<string, OrtModule>()

/**
 * Loads onnxruntime-node (or the package named `id`, for tests) once. Throws OnnxRuntimeUnavailable with
 * the reason when it is missing or its native part fails to load.
 */
export function loadOnnxRuntime(id = 'onnxruntime-node'): OrtModule {
  const cached = loaded.get(id)
  if (cached) return cached
  let mod: OrtModule
  try {
    mod = nodeRequire(id) as OrtModule
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err)
    throw new OnnxRuntimeUnavailable(`onnxruntime is not available (${id}: ${why}); use the TF.js backend`)
  }
  if (typeof mod?.InferenceSession?.create !== 'function' || typeof mod.Tensor !== 'function') {
    throw new OnnxRuntimeUnavailable(
      `onnxruntime is not available (${id} has no InferenceSession); use TF.js`
    )
  }
  loaded.set(id, mod)
  return mod
}

/** True when onnxruntime-node loads here. */
export function onnxRuntimeAvailable(): boolean {
  try {
    loadOnnxRuntime()
    return true
  } catch {
    return false
  }
}

export interface OnnxRunnerOptions {
  /** Intra-op threads; default: the number of logical cores. */
  threads?: number
  /**
   * Let idle worker threads spin between operators (onnxruntime's default, fastest on a quiet machine).
   * false makes them sleep instead, which costs a little latency but no CPU when other work (the UI,
   * a training run) shares the cores. Default true.
   */
  spin?: boolean
  /** Module id to load instead of 'onnxruntime-node' (tests use a missing one). */
  moduleId?: string
}

/** One loaded ONNX model with an NHWC float32 input, run batch by batch. */
export class OnnxRunner {
  /** Number of floats per example in the output (e.g. 4096 for fc7, the class count for a classifier). */
  readonly outputSize: number
  private disposed = false

  private constructor(
    private readonly ort: OrtModule,
    private readonly session: Ort.InferenceSession,
    outputSize: number,
    /** The model's declared input shape without the batch dimension; null where it is symbolic. */
    readonly inputShape: (number | null)[]
  ) {
    this.outputSize = outputSize
  }

  /** Loads a model from ONNX bytes or a file path. Throws OnnxRuntimeUnavailable if onnxruntime is missing. */
  static async create(model: Uint8Array | string, opts: OnnxRunnerOptions = {}): Promise<OnnxRunner> {
    const ort = loadOnnxRuntime(opts.moduleId)
    const threads = opts.threads ?? Math.max(1, cpus().length)
    if (!Number.isInteger(threads) || threads < 1)
      throw new Error(`threads must be a positive integer, got ${threads}`)
    const sessionOpts: Ort.InferenceSession.SessionOptions = {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      intraOpNumThreads: threads,
      // The graph is a chain: nothing runs in parallel between operators.
      interOpNumThreads: 1,
      executionMode: 'sequential',
      extra: { session: { intra_op: { allow_spinning: opts.spin === false ? '0' : '1' } } }
    }
    // A path is read here (a regular file, bounded) rather than by onnxruntime, which would open a FIFO or
    // read a symlink to /dev/zero without end.
    const bytes =
      typeof model === 'string'
        ? await readBounded(model, MAX_ONNX_FILE_BYTES, { what: 'ONNX model file' })
        : model
    const session = await ort.InferenceSession.create(bytes, sessionOpts)
    if (session.inputNames.length !== 1 || session.outputNames.length !== 1) {
      await session.release()
      throw new Error(
        `Expected a model with one input and one output, got inputs [${session.inputNames.join(', ')}] ` +
          `and outputs [${session.outputNames.join(', ')}]`
      )
    }
    const dims = (meta: Ort.InferenceSession.ValueMetadata | undefined): (number | null)[] =>
      meta && meta.isTensor ? meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : null)) : []
    const outDims = dims(session.outputMetadata[0]).slice(1)
    const inDims = dims(session.inputMetadata[0]).slice(1)
    if (outDims.length === 0 || outDims.some((d) => d === null)) {
      await session.release()
      throw new Error(`The model's output shape must be known apart from the batch size`)
    }
    const outputSize = (outDims as number[]).reduce((a, b) => a * b, 1)
    return new OnnxRunner(ort, session, outputSize, inDims)
  }

  /**
   * Runs `batchSize` examples stored back to back in `batch` (NHWC, `shape` = [h, w, c] each; for a
   * model on vectors pass [features]). Returns batchSize * outputSize floats, example after example.
   */
  async run(batch: Float32Array, batchSize: number, shape: number[]): Promise<Float32Array> {
    if (this.disposed) throw new Error('OnnxRunner was disposed')
    const per = shape.reduce((a, b) => a * b, 1)
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new Error(`batchSize must be >= 1, got ${batchSize}`)
    if (batch.length !== per * batchSize) {
      throw new Error(
        `batch has ${batch.length} floats, expected ${batchSize} x [${shape.join(', ')}] = ${per * batchSize}`
      )
    }
    if (
      shape.length !== this.inputShape.length ||
      shape.some((d, i) => this.inputShape[i] !== null && this.inputShape[i] !== d)
    ) {
      throw new Error(
        `Input shape [${shape.join(', ')}] does not match the model's [${this.inputShape.join(', ')}]`
      )
    }
    const input = new this.ort.Tensor('float32', batch, [batchSize, ...shape])
    const feeds = { [this.session.inputNames[0]]: input }
    const results = await this.session.run(feeds)
    const out = results[this.session.outputNames[0]]
    try {
      if (out.type !== 'float32') throw new Error(`Model output is ${out.type}, expected float32`)
      const data = out.data as Float32Array
      if (data.length !== batchSize * this.outputSize) {
        throw new Error(`Model returned ${data.length} floats, expected ${batchSize * this.outputSize}`)
      }
      // Copy out of the tensor's buffer so that disposing it cannot invalidate what we return.
      return new Float32Array(data)
    } finally {
      out.dispose()
    }
  }

  /** Frees the native session. Safe to call twice. */
  async dispose(): Promise<void> {
    if (this.disposed) return
    this.disposed = true
    await this.session.release()
  }
}
