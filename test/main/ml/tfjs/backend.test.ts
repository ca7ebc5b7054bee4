// Backend selection: the fallback order, forcing by option or TS_BACKEND, clear errors, and the log line.
import { describe, expect, it } from 'vitest'
import { createRequire } from 'node:module'
import * as tf from '@tensorflow/tfjs'
import { backendInfo, initBackend } from '../../../../src/main/ml/tfjs/backend'

const req = createRequire(__filename)
function installed(pkg: string): boolean {
  try {
    req.resolve(pkg)
    return true
  } catch {
    return false
  }
}
const nativeInstalled = installed('@tensorflow/tfjs-node') || installed('@tensorflow/tfjs-node-gpu')

describe('initBackend', () => {
  it.skipIf(nativeInstalled)(
    'without tfjs-node falls back to wasm with SIMD, says why, logs one line',
    async () => {
      const lines: string[] = []
      const info = await initBackend({ env: {}, logger: (l) => lines.push(l) })
      expect(info.name).toBe('wasm')
      expect(tf.getBackend()).toBe('wasm')
      expect(info.forced).toBe(false)
      expect(info.reason).toBe('tfjs-node not installed')
      expect(info.simd).toBe(true) // Node 20 has wasm SIMD
      expect(info.threads).toBe(false) // plain Node: the single-threaded build
      expect(info.version).toBe('4.22.0')
      expect(lines).toEqual(['[transfer-studio] TF.js backend: wasm (SIMD) — tfjs-node not installed'])
      expect(backendInfo()).toEqual(info)
      // The training kernels came with it.
      expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined()
    }
  )

  it('the option forces cpu, and wins over TS_BACKEND', async () => {
    const lines: string[] = []
    const info = await initBackend({
      prefer: 'cpu',
      env: { TS_BACKEND: 'wasm' },
      logger: (l) => lines.push(l)
    })
    expect(info).toMatchObject({ name: 'cpu', tfBackend: 'cpu', forced: true })
    expect(tf.getBackend()).toBe('cpu')
    expect(lines).toEqual(['[transfer-studio] TF.js backend: cpu — forced'])
  })

  it('TS_BACKEND forces a backend', async () => {
    const info = await initBackend({ env: { TS_BACKEND: 'wasm' }, logger: () => {} })
    expect(info).toMatchObject({ name: 'wasm', forced: true })
    expect(tf.getBackend()).toBe('wasm')
    const cpu = await initBackend({ env: { TS_BACKEND: ' cpu ' }, logger: () => {} })
    expect(cpu.name).toBe('cpu')
    expect(backendInfo()?.name).toBe('cpu')
  })

  it('rejects an unknown TS_BACKEND value with the valid names', async () => {
    await expect(initBackend({ env: { TS_BACKEND: 'webgpu' }, logger: () => {} })).rejects.toThrow(
      /TS_BACKEND='webgpu' is not one of tfjs-node-gpu, tfjs-node, wasm, cpu/
    )
  })

  it.skipIf(installed('@tensorflow/tfjs-node'))(
    'forcing a native backend that is not installed is a clear error',
    async () => {
      const before = tf.getBackend()
      await expect(initBackend({ prefer: 'tfjs-node', logger: () => {} })).rejects.toThrow(
        /TF.js backend 'tfjs-node' requested but unavailable: tfjs-node: not installed/
      )
      await expect(initBackend({ env: { TS_BACKEND: 'tfjs-node' }, logger: () => {} })).rejects.toThrow(
        /forced by TS_BACKEND but unavailable/
      )
      expect(tf.getBackend()).toBe(before) // nothing changed
    }
  )
})
