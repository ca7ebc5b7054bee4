// @vitest-environment happy-dom
// The wizard's base step over the REAL backend whose model hub downloads from a real HTTP server on
// 127.0.0.1 (a temporary cache, a catalogue of test entries): the list with each model's size and the
// recommended one, a download whose progress shows before it completes and that then picks itself (the
// backend's check of the fake .pth is a refusal, shown in red), a 404 that shows its error and a Retry, a
// slow download cancelled while the server keeps its connection open, and the file option's kinds.
import { createHash } from 'node:crypto'
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { mount, flushPromises, type VueWrapper } from '@vue/test-utils'
import { createPinia, type Pinia } from 'pinia'
import { setApi } from '@renderer/api'
import { createAppI18n } from '@renderer/i18n'
import { useWizardStore } from '@renderer/stores/wizard'
import { formatMegabytes, useHubStore } from '@renderer/stores/hub'
import WizardBaseStep from '@renderer/components/train/wizard/WizardBaseStep.vue'
import { parseCatalogue, type CatalogueEntry } from '../../src/main/hub'
import { createRealApi, type RealApi } from './backend/realApi'

/** The small model: any bytes, served in CHUNK-byte pieces DELAY_MS apart (about a second in all). */
const TINY = Buffer.from(Array.from({ length: 48 * 1024 }, (_, i) => (i * 2654435761) >>> 24))
const CHUNK = 2048
const DELAY_MS = 40
/** The slow model never completes: a few bytes every SLOW_MS, at most SLOW_CHUNKS times. */
const SLOW_BYTES = 5_000_000
const SLOW_MS = 50
const SLOW_CHUNKS = 400

let server: Server
let base = ''
const hits: string[] = []
/** Whether the slow download's connection was closed by the client. */
let slowClosed = false

function dribble(res: ServerResponse, body: Buffer, at: number): void {
  if (res.destroyed) return
  if (at >= body.length) {
    res.end()
    return
  }
  res.write(body.subarray(at, at + CHUNK))
  setTimeout(() => dribble(res, body, at + CHUNK), DELAY_MS)
}

function slowly(res: ServerResponse, sent: number): void {
  if (res.destroyed || sent >= SLOW_CHUNKS) return // keeps the connection open, and never completes
  res.write(Buffer.alloc(1024, 7))
  setTimeout(() => slowly(res, sent + 1), SLOW_MS)
}

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? '')
    if (req.url === '/files/tiny.pth') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': TINY.length })
      dribble(res, TINY, 0)
    } else if (req.url === '/files/slow.pth') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': SLOW_BYTES })
      res.on('close', () => (slowClosed = true))
      slowly(res, 0)
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' })
      res.end('not found')
    }
  })
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((ok) => server.close(ok))
})

function catalogue(): CatalogueEntry[] {
  const entry = (id: string, name: string, file: string, bytes: number, sha256: string) => ({
    id,
    name,
    architecture: 'resnet18',
    format: 'torchvision-pth',
    url: `${base}/files/${file}`,
    sha256,
    bytes,
    input_size: 224,
    imagenet_top1: 69.758,
    params: 11689512,
    macs: null,
    licence: 'BSD-3-Clause (test entry)'
  })
  const digest = createHash('sha256').update(TINY).digest('hex')
  return parseCatalogue(
    [
      entry('resnet18', 'ResNet-18 (test bytes)', 'tiny.pth', TINY.length, digest),
      entry('gone', 'Gone (404)', 'gone.pth', 1000, 'a'.repeat(64)),
      entry('slow', 'Slow (never completes)', 'slow.pth', SLOW_BYTES, 'b'.repeat(64))
    ],
    'test catalogue'
  )
}

let api: RealApi
let pinia: Pinia
let wrapper: VueWrapper | null = null

beforeEach(async () => {
  slowClosed = false
  hits.length = 0
  // The cache is in the api's temporary folder (createRealApi's default); progress is reported per chunk.
  api = await createRealApi({
    project: false,
    hub: { catalogue: catalogue(), fetch: { progressIntervalMs: 10, retries: 0 } }
  })
  setApi(api)
  pinia = createPinia()
})
afterEach(async () => {
  wrapper?.unmount()
  wrapper = null
  setApi(null)
  document.body.innerHTML = ''
  await api.dispose()
})

/** The base step for feature extraction, with the hub's list loaded. */
async function mountStep(strategy: 'feature-extraction' | 'fine-tune' = 'feature-extraction') {
  const wizard = useWizardStore(pinia)
  wizard.pick(strategy)
  wrapper = mount(WizardBaseStep, {
    global: { plugins: [pinia, createAppI18n('en')] },
    attachTo: document.body
  })
  const w = wrapper
  await vi.waitFor(() => expect(w.find('[data-test="hub-row-resnet18"]').exists()).toBe(true), {
    timeout: 5000
  })
  return { w, wizard, hub: useHubStore(pinia) }
}

const row = (w: VueWrapper, id: string) => w.find(`[data-test="hub-row-${id}"]`)

describe('the base step lists the hub', () => {
  it('shows every catalogue model with its size, marks the recommended one, and has the hub chosen', async () => {
    const { w, wizard } = await mountStep()
    expect(wizard.baseChoice).toBe('hub')
    expect((w.find('[data-test="base-hub"]').element as HTMLInputElement).checked).toBe(true)
    for (const e of catalogue()) {
      const r = row(w, e.id)
      expect(r.text()).toContain(e.name)
      expect(r.find('[data-test="hub-size"]').text()).toBe(`${formatMegabytes(e.bytes)} MB`)
      expect(r.text()).toContain('224 px')
      expect(r.text()).toContain('69.8 %')
      expect(r.find('[title]').attributes('title')).toContain(e.licence)
      expect(r.find(`[data-test="hub-download-${e.id}"]`).text()).toBe('Download')
      expect(r.find(`[data-test="hub-select-${e.id}"]`).exists()).toBe(false)
    }
    // The store's preferred ids decide the mark: resnet18 is in this catalogue, mobilenet_v3_small is not.
    expect(row(w, 'resnet18').find('[data-test="hub-recommended"]').exists()).toBe(true)
    expect(w.find('[data-test="hub-recommended-why"]').text()).toMatch(
      /^Recommended: ResNet-18 \(test bytes\), small and fast\. Frozen AlexNet fc7 features are weak on 32 px signs/
    )
    expect(w.findAll('[data-test="hub-recommended"]')).toHaveLength(1)
    expect(w.text()).toContain('Choose a downloaded model, or download one')
  })
})

describe('downloading a hub model', () => {
  it('shows live progress, then Downloaded, picks the model and shows the check in red', async () => {
    const { w, wizard, hub } = await mountStep()
    await w.find('[data-test="hub-download-resnet18"]').trigger('click')
    // Progress with bytes in hand shows while the file still streams in (read at the moment it shows, since
    // on a loaded machine the rest of the file may arrive right after).
    let seen: { done: number; total: number; bar: boolean; text: string; cancel: boolean } | null = null
    await vi.waitFor(
      () => {
        const p = w.find('[data-test="hub-progress-resnet18"]')
        expect(p.exists()).toBe(true)
        const done = Number(p.attributes('data-bytes-done'))
        expect(done).toBeGreaterThan(0)
        seen = {
          done,
          total: Number(p.attributes('data-bytes-total')),
          bar: p.find('[role="progressbar"]').exists(),
          text: p.text(),
          cancel: p.find('[data-test="hub-cancel-resnet18"]').exists()
        }
      },
      { timeout: 10_000, interval: 5 }
    )
    const progress = seen!
    expect(progress.done).toBeLessThan(TINY.length)
    expect(progress.total).toBe(TINY.length)
    expect(progress.bar).toBe(true)
    expect(progress.text).toContain(' of 49.2 KB')
    expect(progress.cancel).toBe(true)
    // Then it is in the cache, and chosen as the base. The row can show Downloaded (the list refreshed on the
    // progress event's end) a moment before the download's reply arrives and the wizard picks it: wait for both.
    await vi.waitFor(
      () => {
        expect(row(w, 'resnet18').attributes('data-state')).toBe('downloaded')
        expect(wizard.base).toEqual({ kind: 'hub', id: 'resnet18' })
      },
      { timeout: 10_000 }
    )
    expect(row(w, 'resnet18').text()).toContain('Downloaded')
    expect(w.find('[data-test="hub-progress-resnet18"]').exists()).toBe(false)
    expect(hub.models.find((m) => m.id === 'resnet18')?.downloaded).toBe(true)
    await flushPromises()
    expect((w.find('[data-test="hub-select-resnet18"]').element as HTMLInputElement).checked).toBe(true)
    // The check asked the backend with the strategy; the fake bytes are no state dict: refused, in red.
    await vi.waitFor(() => expect(w.find('[data-test="hub-message"]').exists()).toBe(true), {
      timeout: 10_000
    })
    const asked = api.calls.filter((c) => c.channel === 'training:validateBase').at(-1)!.args
    expect(asked).toEqual({ base: { kind: 'hub', id: 'resnet18' }, strategy: 'feature-extraction' })
    const answer = await api.backend.handlers['training:validateBase'](asked as never)
    expect(answer.ok).toBe(false)
    const message = w.find('[data-test="hub-message"]')
    expect(message.text()).toBe(answer.message)
    expect(message.classes()).toContain('error-text')
    expect(wizard.baseReady).toBe(false)
    // The backend's list agrees.
    const listed = (await api.invoke('hub:list', {})).models.find((m) => m.id === 'resnet18')!
    expect(listed).toMatchObject({ downloaded: true, downloading: false, partialBytes: 0 })
  })

  it('shows the error of a download the server answers with 404, and a Retry that tries again', async () => {
    const { w, wizard } = await mountStep()
    await w.find('[data-test="hub-download-gone"]').trigger('click')
    await vi.waitFor(() => expect(w.find('[data-test="hub-error-gone"]').exists()).toBe(true), {
      timeout: 10_000
    })
    expect(w.find('[data-test="hub-error-gone"]').text()).toContain('HTTP 404')
    expect(w.find('[data-test="hub-error-gone"]').text()).toContain('The download failed')
    expect(row(w, 'gone').attributes('data-state')).toBe('failed')
    expect(wizard.base).toEqual({ kind: 'none' })
    const before = hits.filter((h) => h === '/files/gone.pth').length
    expect(before).toBe(1)
    await w.find('[data-test="hub-retry-gone"]').trigger('click')
    await vi.waitFor(() => expect(hits.filter((h) => h === '/files/gone.pth')).toHaveLength(2), {
      timeout: 10_000
    })
    await vi.waitFor(() => expect(w.find('[data-test="hub-error-gone"]').exists()).toBe(true), {
      timeout: 10_000
    })
    expect(w.find('[data-test="hub-retry-gone"]').exists()).toBe(true)
  })

  it('cancels a slow download: the connection is closed and the row can be downloaded again', async () => {
    const { w, wizard } = await mountStep()
    await w.find('[data-test="hub-download-slow"]').trigger('click')
    await vi.waitFor(
      () =>
        expect(
          Number(w.find('[data-test="hub-progress-slow"]').attributes('data-bytes-done') ?? 0)
        ).toBeGreaterThan(0),
      { timeout: 10_000, interval: 5 }
    )
    expect(w.find('[data-test="hub-progress-slow"]').text()).toMatch(/KB\/s|MB\/s/)
    await w.find('[data-test="hub-cancel-slow"]').trigger('click')
    await vi.waitFor(() => expect(slowClosed).toBe(true), { timeout: 10_000 })
    await vi.waitFor(() => expect(w.find('[data-test="hub-progress-slow"]').exists()).toBe(false), {
      timeout: 10_000
    })
    await vi.waitFor(() => expect(w.find('[data-test="hub-download-slow"]').exists()).toBe(true), {
      timeout: 10_000
    })
    // Cancelled is no failure; the model is not downloaded (resumable when the backend kept bytes).
    expect(w.find('[data-test="hub-error-slow"]').exists()).toBe(false)
    const state = row(w, 'slow').attributes('data-state')
    expect(['absent', 'partial']).toContain(state)
    const listed = (await api.invoke('hub:list', {})).models.find((m) => m.id === 'slow')!
    expect(listed).toMatchObject({ downloaded: false, downloading: false })
    expect(w.find('[data-test="hub-download-slow"]').text()).toEqual(
      listed.partialBytes > 0 ? expect.stringContaining('Resume') : 'Download'
    )
    expect(wizard.base).toEqual({ kind: 'none' })
  })
})

describe('a file on this machine', () => {
  it('reads the kind from the extension, guesses a .pth file’s architecture and checks for the strategy', async () => {
    const { w, wizard } = await mountStep('fine-tune')
    const path = w.find('[data-test="base-path"]')
    await path.setValue('/models/resnet50-0676ba61.pth')
    expect(wizard.baseChoice).toBe('file')
    await flushPromises()
    expect((w.find('[data-test="base-arch"]').element as HTMLSelectElement).value).toBe('resnet50')
    expect(wizard.base).toEqual({
      kind: 'torchvision-pth',
      path: '/models/resnet50-0676ba61.pth',
      architecture: 'resnet50'
    })
    await path.setValue('/models/exported-signs')
    expect(wizard.base).toEqual({ kind: 'studio-model', path: '/models/exported-signs' })
    await path.setValue('/models/bvlc-alexnet.npy')
    expect(wizard.base).toEqual({ kind: 'bvlc-npy', path: '/models/bvlc-alexnet.npy' })
    // An ONNX model only extracts features: fine-tuning it is refused in this step.
    await path.setValue('/models/classifier.onnx')
    await path.trigger('change')
    expect(wizard.base).toEqual({ kind: 'onnx', path: '/models/classifier.onnx' })
    await vi.waitFor(() => expect(w.find('[data-test="base-message"]').exists()).toBe(true), {
      timeout: 10_000
    })
    expect(w.find('[data-test="base-message"]').classes()).toContain('error-text')
    expect(w.find('[data-test="base-message"]').text()).toContain('ONNX')
    const asked = api.calls.filter((c) => c.channel === 'training:validateBase').at(-1)!.args
    expect(asked).toEqual({ base: { kind: 'onnx', path: '/models/classifier.onnx' }, strategy: 'fine-tune' })
  })
})
