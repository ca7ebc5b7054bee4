// The About screen's service (`system:doctor`): the doctor's real diagnosis, made in a forked training worker
// (the app's runner) and answered by the real backend's handler: WebAssembly here, this machine's cores,
// onnxruntime loaded, its sentences as catalogue keys; arguments refused at the boundary, the WebSocket
// dispatch answering the same, and a failed read that is tried again instead of being kept.
import { availableParallelism } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBackend, type Backend } from '../../../src/main/backend'
import { dispatch } from '../../../src/main/server/dispatch'
import { DoctorService } from '../../../src/main/training/doctorService'
import { forkRunner, type JobRunner } from '../../../src/main/training/trainingService'
import type { Diagnosis, Job } from '../../../src/main/ml'
import { formatMessage, isMessageKey } from '../../../src/shared/messages'
import { version } from '../../../package.json'
import { tempDir } from '../../helpers'

const SRC = resolve(__dirname, '../../../src/main')

describe('system:doctor on this machine', () => {
  let tmp: ReturnType<typeof tempDir>
  let b: Backend
  beforeAll(() => {
    tmp = tempDir()
    b = createBackend({
      dataDir: join(tmp.dir, 'data'),
      runner: forkRunner({
        entry: join(SRC, 'ml/worker/trainWorker.ts'),
        execArgv: ['--import', 'jiti/register']
      })
    })
  })
  afterAll(async () => {
    await b.dispose()
    tmp.remove()
  })

  it('answers the backend that runs and why, the cores, onnxruntime and the advice, without a project', async () => {
    const r = await b.handlers['system:doctor']({})
    expect(r.appVersion).toBe(version)
    // No tfjs-node binary on this machine: WebAssembly, because the native package is not installed.
    expect(r.backend.name).toBe('wasm')
    expect(r.backend.simd).toBe(true)
    expect(r.why.code).toBe('doctor.why.nativeMissing')
    expect(r.cores).toBe(availableParallelism())
    expect(r.trainThreads).toBe(Math.min(availableParallelism(), 8))
    expect(r.onnxRuntime).toBe(true)
    expect(r.node).toBe(process.versions.node)
    expect(r.summary).toMatch(/^TF\.js backend: wasm \(SIMD\) \(tfjs-node not installed\)/)
    const native = r.advice.find((a) => a.code === 'doctor.advice.native')
    expect(native?.command).toBe('npm install @tensorflow/tfjs-node')
    for (const a of [r.why, ...r.advice]) {
      expect(isMessageKey(a.code)).toBe(true)
      expect(a.message).toBe(formatMessage(a.code, a.params))
    }
    // Read in the worker: this process (the backend's) never loaded TF.js (tfjs-core's global engine).
    expect('_tfengine' in globalThis).toBe(false)
    // Plain data: it crosses IPC and the WebSocket unchanged.
    expect(JSON.parse(JSON.stringify(r))).toEqual(r)
  })

  it('refuses arguments, and answers the same over the WebSocket dispatch', async () => {
    const loose = b.handlers as unknown as Record<string, (args: unknown) => Promise<unknown>>
    await expect(loose['system:doctor']({ refresh: true })).rejects.toThrow(/system:doctor/)
    const served = await dispatch(b, 'system:doctor', {})
    expect(served).toEqual(await b.handlers['system:doctor']({}))
  })
})

describe('DoctorService', () => {
  const diagnosis: Diagnosis = {
    facts: {
      backend: { name: 'cpu', tfBackend: 'cpu', version: '4.22.0', forced: true },
      cores: 4,
      trainThreads: 1,
      onnxRuntime: false,
      onnxRuntimeError: 'no binary',
      node: '22.0.0',
      napi: 9,
      platform: 'linux',
      arch: 'x64',
      nvidiaGpu: false
    },
    why: { code: 'doctor.why.forced', params: {}, message: 'forced by TS_BACKEND' },
    summary: 'TF.js backend: cpu (forced by TS_BACKEND)',
    advice: []
  }

  it('reads the facts once, as a doctor job on the runner, and again after a failed read', async () => {
    const jobs: Job[] = []
    const runner: JobRunner = async (job) => {
      jobs.push(job)
      if (jobs.length === 1) throw new Error('backend would not start')
      return { kind: 'doctor', diagnosis }
    }
    const service = new DoctorService({ appVersion: '9.9.9', runner })
    await expect(service.report()).rejects.toThrow('backend would not start')
    const first = await service.report()
    const second = await service.report()
    expect(jobs).toEqual([{ kind: 'doctor' }, { kind: 'doctor' }])
    expect(second).toEqual(first)
    expect(first).toMatchObject({
      appVersion: '9.9.9',
      backend: { name: 'cpu', forced: true },
      onnxRuntime: false,
      onnxRuntimeError: 'no binary',
      cores: 4
    })
  })
})
