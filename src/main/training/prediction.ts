// Predicting with a trained run (`training:predict`): the images are decoded and the run's classifier runs
// in the inference worker, a child process forked once and reused, so the classifier a run loaded stays
// loaded for the next call and nothing of it runs on the backend's event loop. Without a worker entry
// (unit tests of other parts) the same code runs in this process.
import { fork, type ChildProcess } from 'node:child_process'
import type { Prediction } from '../../shared/training'
import {
  loadEngine,
  type Inference,
  type InferenceReply,
  type InferenceRequest,
  type PredictFile
} from '../ml'
import { userMessage } from '../errors/userError'
import type { UploadStore } from '../uploads/uploadStore'
import type { TrainingService } from './trainingService'
import { trainedModelDir } from './runModel'

export type { PredictFile } from '../ml'

/** A file as `training:predict` names it: a path, bytes, or a file uploaded to `serve` beforehand. */
export type PredictRequestFile = PredictFile | { upload: string; name: string }

export interface InferenceWorkerOptions {
  /** The worker entry: out/main/inferenceWorker.js, or the .ts source with a loader in execArgv (tests). */
  entry: string
  execArgv?: string[]
  env?: NodeJS.ProcessEnv
}

interface Pending {
  resolve(p: Prediction[]): void
  reject(e: Error): void
}

/** The inference worker process seen from here: started on first use, restarted after it dies. */
export function forkInference(
  opts: InferenceWorkerOptions
): Inference & { dispose(): void; pid(): number | null } {
  let child: ChildProcess | null = null
  let nextId = 1
  const pending = new Map<number, Pending>()
  // An idle worker must not keep the process alive (the CLI exits when its work is done).
  const refIdle = (c: ChildProcess): void => {
    if (pending.size) c.channel?.ref()
    else c.channel?.unref()
  }
  const failAll = (err: Error): void => {
    for (const p of pending.values()) p.reject(err)
    pending.clear()
  }
  const start = (): ChildProcess => {
    const c = fork(opts.entry, [], {
      execArgv: opts.execArgv ?? [],
      env: opts.env ?? process.env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc']
    })
    c.on('message', (msg: InferenceReply) => {
      if (msg.type === 'ready') return
      const p = pending.get(msg.id)
      if (!p) return
      pending.delete(msg.id)
      if (msg.type === 'result') p.resolve(msg.predictions)
      else p.reject(Object.assign(new Error(msg.error.message), { name: msg.error.name }))
      refIdle(c)
    })
    const gone = (why: string): void => {
      if (child === c) child = null
      failAll(new Error(`the inference process stopped unexpectedly (${why})`))
    }
    c.on('error', (err) => gone(userMessage(err)))
    c.on('exit', (code, sig) => gone(sig ?? `exit code ${code}`))
    return c
  }
  return {
    predict(modelDir: string, files: PredictFile[], top: number): Promise<Prediction[]> {
      const c = (child ??= start())
      const id = nextId++
      return new Promise<Prediction[]>((resolve, reject) => {
        pending.set(id, { resolve, reject })
        refIdle(c)
        c.send({ type: 'predict', id, modelDir, files, top } satisfies InferenceRequest)
      })
    },
    async forget() {
      if (child?.connected) child.send({ type: 'forget' } satisfies InferenceRequest)
    },
    dispose() {
      const c = child
      child = null
      failAll(new Error('the backend is shutting down'))
      c?.kill()
    },
    pid: () => child?.pid ?? null
  }
}

/** Inference in this process (TF.js and onnxruntime load on first use). */
function inProcessInference(): Inference & { dispose(): void; pid(): number | null } {
  let inference: Promise<Inference> | null = null
  const get = (): Promise<Inference> => (inference ??= loadEngine().then((m) => m.createInference()))
  return {
    predict: async (modelDir, files, top) => (await get()).predict(modelDir, files, top),
    forget: async () => {
      if (inference) await (await inference).forget()
    },
    dispose() {
      void this.forget()
    },
    pid: () => null
  }
}

export class PredictionService {
  private readonly inference: ReturnType<typeof forkInference>

  constructor(
    private readonly training: TrainingService,
    worker?: InferenceWorkerOptions,
    private readonly uploads?: UploadStore
  ) {
    this.inference = worker ? forkInference(worker) : inProcessInference()
  }

  /**
   * Top-k per file, in the order given; a file that cannot be read gets an entry with `error`. Uploaded
   * files are used once: they are deleted afterwards, whatever the outcome, and shown by the name they
   * were sent with.
   */
  async predict(runId: number, files: PredictRequestFile[], top: number): Promise<Prediction[]> {
    const used = files.flatMap((f) => ('upload' in f ? [f.upload] : []))
    try {
      const dir = await trainedModelDir(this.training.get(runId))
      const resolved = files.map((f): PredictFile => {
        if (!('upload' in f)) return f
        if (!this.uploads) throw new Error('uploads are only accepted by `transfer-studio serve`')
        return { path: this.uploads.get(f.upload).path }
      })
      const out = await this.inference.predict(dir, resolved, top)
      return out.map((p, i) => {
        const f = files[i]
        if (!('upload' in f)) return p
        const tmp = (resolved[i] as { path: string }).path
        return p.error
          ? { ...p, path: f.name, error: p.error.replaceAll(tmp, f.name) }
          : { ...p, path: f.name }
      })
    } finally {
      await Promise.all(used.map((id) => this.uploads?.release(id)))
    }
  }

  /** The inference worker's process id while it runs (null before the first prediction, or in process). */
  workerPid(): number | null {
    return this.inference.pid()
  }

  /** Ends the worker (its loaded classifiers go with it). */
  async dispose(): Promise<void> {
    this.inference.dispose()
  }
}
