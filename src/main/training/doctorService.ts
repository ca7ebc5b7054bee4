// The About screen's facts (`system:doctor`): the same diagnosis `transfer-studio doctor` prints, of the
// process that trains. It runs as a job on the training runner (a forked worker in the app and under
// `serve`, in process for the CLI and tests), so starting TF.js to read the facts never blocks the backend's
// event loop. The facts are read once and kept: the backend a process can load, the cores and onnxruntime
// do not change while the studio runs; a failed read is not kept, so the next ask tries again.
import type { DoctorReport } from '../../shared/doctor'
import type { Diagnosis } from '../ml'
import type { JobRunner } from './trainingService'

export interface DoctorServiceOptions {
  /** Shown on the screen beside the facts. */
  appVersion: string
  /** Runs the doctor job: the training runner, so the facts are those of the process that trains. */
  runner: JobRunner
}

export class DoctorService {
  private pending: Promise<Diagnosis> | null = null

  constructor(private readonly opts: DoctorServiceOptions) {}

  private async diagnose(): Promise<Diagnosis> {
    const result = await this.opts.runner({ kind: 'doctor' }, () => {}, new AbortController().signal)
    if (result.kind !== 'doctor') throw new Error(`the doctor job answered a ${result.kind} result`)
    return result.diagnosis
  }

  /** The facts and the advice, with the app's version. */
  async report(): Promise<DoctorReport> {
    const read = (this.pending ??= this.diagnose().catch((err: unknown) => {
      this.pending = null
      throw err
    }))
    const d = await read
    const f = d.facts
    return {
      appVersion: this.opts.appVersion,
      backend: { ...f.backend },
      why: d.why,
      cores: f.cores,
      trainThreads: f.trainThreads,
      onnxRuntime: f.onnxRuntime,
      ...(f.onnxRuntimeError ? { onnxRuntimeError: f.onnxRuntimeError } : {}),
      node: f.node,
      napi: f.napi,
      platform: f.platform,
      arch: f.arch,
      nvidiaGpu: f.nvidiaGpu,
      summary: d.summary,
      advice: d.advice.map((a) => ({ ...a, params: { ...a.params } }))
    }
  }
}
