// @vitest-environment happy-dom
// The export dialog against the real backend, on copies of a project holding a completed compact-CNN run
// trained on 112 real GTSRB frames: a typed folder is checked (what will be written, from the run's real
// model folder), exported through the dialog's buttons, and the files are on disk (TF.js model.json and its
// weights, the ONNX model, labels, metadata, README) and load as what the run trained; a folder that is not
// empty is refused at the check with the backend's reason, and one that fills up between check and export is
// refused by the export itself, writing nothing.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, normalize } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { mount, type VueWrapper } from '@vue/test-utils'
import { createPinia } from 'pinia'
import { setApi } from '@renderer/api'
import { createAppI18n } from '@renderer/i18n'
import en from '@renderer/i18n/en'
import ExportDialog from '@renderer/components/runs/ExportDialog.vue'
import { SIGNS, buildProject, createRealApi, type BuiltProject, type RealApi } from './backend/realApi'

let project: BuiltProject
beforeAll(async () => {
  project = await buildProject({ perClass: 28, unlabelled: 8, train: {}, evaluate: true })
})
afterAll(() => project?.remove())

let wrapper: VueWrapper | null = null
let api: RealApi | null = null
let pinia: ReturnType<typeof createPinia>

afterEach(async () => {
  wrapper?.unmount()
  wrapper = null
  setApi(null)
  document.body.innerHTML = ''
  await api?.dispose()
  api = null
})

/** A fresh backend on a copy of the trained project, a fresh Pinia, and the dialog for its run. */
async function openDialog(): Promise<{ a: RealApi; w: VueWrapper; runId: number; onClose: () => void }> {
  const a = (api = await createRealApi({ from: project.path }))
  setApi(a)
  pinia = createPinia()
  const runId = project.runId!
  const onClose = vi.fn()
  wrapper = mount(ExportDialog, {
    props: { runId, onClose },
    global: { plugins: [pinia, createAppI18n('en')] },
    attachTo: document.body
  })
  return { a, w: wrapper, runId, onClose }
}

/** Type a folder and press Check, as a user does. */
async function typeFolder(w: VueWrapper, dir: string): Promise<void> {
  await w.find('[data-test="export-dir"]').setValue(dir)
  await w.find('[data-test="export-check"]').trigger('click')
}

function goButton(w: VueWrapper): HTMLButtonElement {
  return w.find('[data-test="export-go"]').element as HTMLButtonElement
}

function previewNames(w: VueWrapper): string[] {
  return w.findAll('[data-test="export-preview"] li code').map((c) => c.text())
}

const fill = (text: string, values: Record<string, string | number>): string =>
  text.replace(/\{(\w+)\}/g, (_, k: string) => String(values[k]))

describe('export dialog', () => {
  it('checks a new folder, exports the run there, and the TF.js and ONNX models are on disk', async () => {
    const { a, w, runId } = await openDialog()
    expect(w.find('[role="dialog"] h2').text()).toBe(fill(en.exportDialog.title, { id: runId }))
    // Under serve (no native dialog) the folder is typed; nothing can be exported before a check.
    expect(w.find('[data-test="export-browse"]').exists()).toBe(false)
    expect(goButton(w).disabled).toBe(true)

    const out = join(a.dir, 'exports', 'signs-model')
    await typeFolder(w, out)
    await vi.waitFor(() => expect(previewNames(w).length).toBeGreaterThan(0))
    expect(w.find('[data-test="export-problem"]').exists()).toBe(false)
    // The preview is the run's real model folder plus the README the export writes.
    const run = await a.invoke('training:get', { runId })
    // The run's trained model folder, where the backend keeps it.
    const modelDir = a.backend.services.training.get(runId).modelDir!
    const modelFiles = readdirSync(modelDir)
    expect(previewNames(w)).toEqual([...new Set([...modelFiles, 'README.md'])].sort())
    expect(previewNames(w)).toEqual(expect.arrayContaining(['model.json', 'model.onnx', 'metadata.json']))
    const preview = await a.invoke('training:exportPreview', { runId, outDir: out })
    expect(w.findAll('[data-test="export-preview"] li').map((li) => li.text())).toEqual(
      preview.files.map((f) => `${f.name} — ${f.description}`)
    )
    // Checking wrote nothing.
    expect(readdirSync(a.dir)).not.toContain('exports')
    expect(goButton(w).disabled).toBe(false)

    await w.find('[data-test="export-go"]').trigger('click')
    await vi.waitFor(() => expect(w.find('[data-test="export-result"]').exists()).toBe(true), {
      timeout: 30_000
    })
    expect(w.find('[data-test="export-result"] .ok').text()).toBe(en.exportDialog.done)
    expect(w.find('[data-test="export-where"]').text()).toBe(out)
    expect(w.find('[data-test="export-error"]').exists()).toBe(false)
    expect(w.find('[data-test="export-go"]').exists()).toBe(false)
    // ONNX was written at training time, so no ONNX warning.
    expect(w.find('[data-test="export-result"] .error-text').exists()).toBe(false)

    // What is on disk is what the dialog lists, and what the preview promised.
    const written = readdirSync(out).sort()
    expect(w.findAll('[data-test="export-result"] li code').map((c) => c.text())).toEqual(written)
    expect(written).toEqual(preview.files.map((f) => f.name))
    expect(readdirSync(join(a.dir, 'exports'))).toEqual(['signs-model'])

    // TF.js: model.json names weight files that exist, with the byte counts its manifest declares.
    const modelJson = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as {
      modelTopology: unknown
      weightsManifest: { paths: string[]; weights: { shape: number[]; dtype: string }[] }[]
    }
    expect(modelJson.modelTopology).toBeTruthy()
    const paths = modelJson.weightsManifest.flatMap((g) => g.paths)
    expect(paths.length).toBeGreaterThan(0)
    for (const p of paths) expect(written).toContain(normalize(p))
    const declared = modelJson.weightsManifest
      .flatMap((g) => g.weights)
      .reduce((n, wt) => n + wt.shape.reduce((x, y) => x * y, 1) * 4, 0)
    const onDisk = paths.reduce((n, p) => n + readFileSync(join(out, p)).length, 0)
    expect(onDisk).toBe(declared)
    // The bytes are the run's trained weights.
    for (const p of paths)
      expect(readFileSync(join(out, p)).equals(readFileSync(join(modelDir, p)))).toBe(true)

    // ONNX: a protobuf model, the very file the run wrote.
    const onnx = readFileSync(join(out, 'model.onnx'))
    expect(onnx.length).toBeGreaterThan(1000)
    expect(onnx.equals(readFileSync(join(modelDir, 'model.onnx')))).toBe(true)

    // Labels and metadata: the project's four signs, and the accuracies the backend stored for the run.
    const labels = JSON.parse(readFileSync(join(out, 'labels.json'), 'utf8')) as {
      classId: number
      name: string
    }[]
    const classes = await a.invoke('classes:list', {})
    expect(classes).toHaveLength(SIGNS.length)
    expect(labels.map((l) => [l.classId, l.name]).sort()).toEqual(classes.map((c) => [c.id, c.name]).sort())
    const meta = JSON.parse(readFileSync(join(out, 'metadata.json'), 'utf8')) as {
      metrics: { valAccuracy: number | null; testAccuracy: number | null }
    }
    expect(meta.metrics).toEqual({ valAccuracy: run.valAccuracy, testAccuracy: run.testAccuracy })
    expect(run.testAccuracy).not.toBeNull()
    const readme = readFileSync(join(out, 'README.md'), 'utf8')
    // For people: a percentage with two decimals (metadata.json keeps the exact value).
    expect(readme).toContain(`test accuracy: ${(run.testAccuracy! * 100).toFixed(2)} %`)
    expect(readme).toContain("sess = ort.InferenceSession('model.onnx')")

    // One export, done once.
    const calls = a.calls.map((c) => c.channel)
    expect(calls.filter((c) => c === 'training:export')).toHaveLength(1)
  })

  it('refuses a folder that is not empty at the check, with the backend’s reason, and exports nothing', async () => {
    const { a, w, runId } = await openDialog()
    const out = join(a.dir, 'taken')
    mkdirSync(out)
    writeFileSync(join(out, 'holiday.jpg'), 'mine')
    await typeFolder(w, out)
    const { problem } = await a.invoke('training:exportPreview', { runId, outDir: out })
    expect(problem).toContain('not empty')
    await vi.waitFor(() =>
      expect(w.find('[data-test="export-problem"]').text()).toBe(
        fill(en.exportDialog.problem, { problem: problem! })
      )
    )
    expect(goButton(w).disabled).toBe(true)
    await w.find('[data-test="export-go"]').trigger('click')
    expect(a.calls.some((c) => c.channel === 'training:export')).toBe(false)
    expect(readdirSync(out)).toEqual(['holiday.jpg'])

    // Emptying the folder and checking again makes it usable.
    await typeFolder(w, join(a.dir, 'fresh'))
    await vi.waitFor(() => expect(w.find('[data-test="export-problem"]').exists()).toBe(false))
    expect(goButton(w).disabled).toBe(false)
  })

  it('shows the export’s own refusal when the folder filled up after the check, and leaves it as it was', async () => {
    const { a, w } = await openDialog()
    const out = join(a.dir, 'later')
    mkdirSync(out)
    await typeFolder(w, out)
    await vi.waitFor(() => expect(previewNames(w)).toContain('model.json'))
    expect(w.find('[data-test="export-problem"]').exists()).toBe(false)
    // Something else writes into the folder before the user presses Export.
    writeFileSync(join(out, 'notes.txt'), 'written meanwhile')
    await w.find('[data-test="export-go"]').trigger('click')
    await vi.waitFor(() => expect(w.find('[data-test="export-error"]').exists()).toBe(true), {
      timeout: 30_000
    })
    const message = `export target ${out} is not empty; choose a new or empty folder (nothing was written)`
    expect(w.find('[data-test="export-error"]').text()).toBe(fill(en.exportDialog.failed, { message }))
    expect(w.find('[data-test="export-result"]').exists()).toBe(false)
    expect(goButton(w).disabled).toBe(false)
    // Nothing was written: not in the folder, and no temporary folder beside it.
    expect(readdirSync(out)).toEqual(['notes.txt'])
    expect(readdirSync(a.dir).filter((n) => n.includes('later'))).toEqual(['later'])
  })

  it('closes from the footer and with Escape', async () => {
    const { w, onClose } = await openDialog()
    const close = w.findAll('footer button').find((b) => b.text() === en.app.close)!
    await close.trigger('click')
    expect(onClose).toHaveBeenCalledTimes(1)
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }))
    expect(onClose).toHaveBeenCalledTimes(2)
  })
})
