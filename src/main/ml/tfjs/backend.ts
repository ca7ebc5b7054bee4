// TF.js backend selection for every process that trains or predicts (Electron main, CLI, workers, tests).
//
// Order: tfjs-node-gpu (CUDA), tfjs-node (native TensorFlow on the CPU), wasm (XNNPACK with SIMD), cpu
// (plain JS, slow). The native packages are optionalDependencies that often fail to install, so they are
// loaded with a guarded run-time `require` that bundlers leave alone, and a missing one only moves the
// choice down the list. `TS_BACKEND` or `initBackend({ prefer })` forces one; forcing one that cannot load
// is an error rather than a silent fallback, because the user asked for it by name.
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import type { BackendInfo } from '../../../shared/doctor'
import type { BackendName } from '../../../shared/training'
import { registerWasmTrainingKernels } from './kernels/wasmKernels'

export const BACKEND_NAMES: readonly BackendName[] = ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu']

export type { BackendInfo }

export interface InitBackendOptions {
  /** Force this backend (wins over TS_BACKEND). */
  prefer?: BackendName
  /** Where the one summary line goes; default console.log. */
  logger?: (line: string) => void
  /** Environment to read TS_BACKEND from; default process.env. */
  env?: Record<string, string | undefined>
}

/** `require` that bundlers do not follow (the id is a variable) and that works in CJS and vitest alike. */
const nodeRequire: NodeJS.Require =
  typeof require === 'function' ? require : createRequire(join(process.cwd(), 'noop.js'))

function dynamicRequire(id: string): unknown {
  return nodeRequire(id)
}

class BackendUnavailable extends Error {
  constructor(
    readonly backend: BackendName,
    readonly short: string,
    cause?: unknown
  ) {
    super(`${backend}: ${short}${cause instanceof Error ? ` (${cause.message.split('\n')[0]})` : ''}`)
  }
}

function isNotInstalled(err: unknown, pkg: string): boolean {
  const e = err as { code?: string; message?: string }
  return e?.code === 'MODULE_NOT_FOUND' && (e.message ?? '').includes(`'${pkg}'`)
}

async function tryNative(name: 'tfjs-node-gpu' | 'tfjs-node'): Promise<Omit<BackendInfo, 'forced'>> {
  const pkg = `@tensorflow/${name}`
  let mod: { version?: { 'tfjs-node'?: string } }
  try {
    mod = dynamicRequire(pkg) as typeof mod
  } catch (err) {
    throw new BackendUnavailable(name, isNotInstalled(err, pkg) ? 'not installed' : 'failed to load', err)
  }
  // Both packages register the backend id 'tensorflow'. A second copy of tfjs-core inside the native
  // package would register it elsewhere; setBackend then fails, and we say so.
  if (!(await tf.setBackend('tensorflow'))) throw new BackendUnavailable(name, 'failed to initialise')
  await tf.ready()
  return { name, tfBackend: 'tensorflow', version: mod.version?.['tfjs-node'] ?? tf.version.tfjs }
}

/** Folder holding tfjs-backend-wasm's .wasm files, with a trailing slash (setWasmPaths wants a prefix). */
export function wasmDir(): string {
  return join(dirname(nodeRequire.resolve('@tensorflow/tfjs-backend-wasm')), '/')
}

async function tryWasm(): Promise<Omit<BackendInfo, 'forced'>> {
  let wasm: typeof import('@tensorflow/tfjs-backend-wasm')
  try {
    wasm = dynamicRequire('@tensorflow/tfjs-backend-wasm') as typeof wasm
    // Loading from a file path makes the emscripten loader read it with fs instead of fetch().
    wasm.setWasmPaths(wasmDir())
  } catch (err) {
    throw new BackendUnavailable('wasm', 'failed to load', err)
  }
  registerWasmTrainingKernels()
  let ok = false
  try {
    ok = await tf.setBackend('wasm')
  } catch (err) {
    throw new BackendUnavailable('wasm', 'failed to initialise', err)
  }
  if (!ok) throw new BackendUnavailable('wasm', 'failed to initialise')
  await tf.ready()
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'))
  const threads = Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'))
  return {
    name: 'wasm',
    tfBackend: 'wasm',
    version: wasm.version_wasm,
    simd,
    threads,
    threadCount: wasm.getThreadsCount()
  }
}

async function tryCpu(): Promise<Omit<BackendInfo, 'forced'>> {
  if (!(await tf.setBackend('cpu'))) throw new BackendUnavailable('cpu', 'failed to initialise')
  await tf.ready()
  quietCpuBanner()
  return { name: 'cpu', tfBackend: 'cpu', version: tf.version.tfjs }
}

/**
 * tfjs-backend-cpu prints "Hi, looks like you are running TensorFlow.js in Node.js ... install our node
 * backend" on its first tensor write under Node (its `firstUse` flag). Here cpu was chosen on purpose, as
 * the last of the list or by TS_BACKEND, and the one summary line already says why, so the banner is
 * marked as shown. Only that flag: `tf.enableProdMode()` would also hide TF.js's other warnings.
 */
function quietCpuBanner(): void {
  const cpu = tf.findBackend('cpu') as { firstUse?: unknown } | null
  if (cpu && typeof cpu.firstUse === 'boolean') cpu.firstUse = false
}

const loaders: Record<BackendName, () => Promise<Omit<BackendInfo, 'forced'>>> = {
  'tfjs-node-gpu': () => tryNative('tfjs-node-gpu'),
  'tfjs-node': () => tryNative('tfjs-node'),
  wasm: tryWasm,
  cpu: tryCpu
}

let current: BackendInfo | null = null

/** What `initBackend` chose, or null before it ran. */
export function backendInfo(): BackendInfo | null {
  return current ? { ...current } : null
}

/** 'wasm (SIMD)' / 'tfjs-node' ... for logs and the UI. */
export function describeBackend(info: BackendInfo): string {
  const extras: string[] = []
  if (info.simd) extras.push('SIMD')
  if (info.threads) extras.push(`${info.threadCount ?? '?'} threads`)
  return `${info.name}${extras.length ? ` (${extras.join(', ')})` : ''}`
}

/** Summarises skipped backends: both native ones missing reads as the one thing users act on. */
function summarise(skipped: BackendUnavailable[]): string | undefined {
  if (skipped.length === 0) return undefined
  const missing = skipped.filter((s) => s.short === 'not installed').map((s) => s.backend)
  if (
    missing.length === skipped.length &&
    missing.includes('tfjs-node') &&
    missing.includes('tfjs-node-gpu')
  ) {
    return 'tfjs-node not installed'
  }
  return skipped.map((s) => s.message).join('; ')
}

/**
 * Picks and initialises the TF.js backend (see the header for the order). Resolves with what runs and,
 * when earlier choices were skipped, why. Throws when a forced backend cannot be used.
 */
export async function initBackend(opts: InitBackendOptions = {}): Promise<BackendInfo> {
  const log = opts.logger ?? ((line: string) => console.log(line))
  const envValue = (opts.env ?? process.env).TS_BACKEND?.trim()
  if (envValue && !BACKEND_NAMES.includes(envValue as BackendName)) {
    throw new Error(`TS_BACKEND='${envValue}' is not one of ${BACKEND_NAMES.join(', ')}`)
  }
  const forced = opts.prefer ?? (envValue ? (envValue as BackendName) : undefined)
  if (forced && !BACKEND_NAMES.includes(forced)) {
    throw new Error(`Unknown backend '${forced}'; expected one of ${BACKEND_NAMES.join(', ')}`)
  }

  let info: BackendInfo | undefined
  if (forced) {
    try {
      info = { ...(await loaders[forced]()), forced: true }
    } catch (err) {
      const why = err instanceof BackendUnavailable ? err.message : String(err)
      const from = opts.prefer ? 'requested' : 'forced by TS_BACKEND'
      throw new Error(`TF.js backend '${forced}' ${from} but unavailable: ${why}`)
    }
  } else {
    const skipped: BackendUnavailable[] = []
    for (const name of BACKEND_NAMES) {
      try {
        info = { ...(await loaders[name]()), forced: false, reason: summarise(skipped) }
        break
      } catch (err) {
        skipped.push(err instanceof BackendUnavailable ? err : new BackendUnavailable(name, 'failed', err))
      }
    }
    if (!info) throw new Error(`No TF.js backend could start: ${skipped.map((s) => s.message).join('; ')}`)
  }
  if (info.reason === undefined) delete info.reason
  current = info
  const tail = info.forced ? ' — forced' : info.reason ? ` — ${info.reason}` : ''
  log(`[transfer-studio] TF.js backend: ${describeBackend(info)}${tail}`)
  return { ...info }
}
