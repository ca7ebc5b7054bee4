// @vitest-environment happy-dom
// The Predict view against the real backend, on copies of a project holding a completed compact-CNN run
// trained on 112 real GTSRB frames of 4 signs: the run picker, real GTSRB PPM frames the model never saw
// picked through the file input or dropped on the window (files and a folder), the top classes and
// confidences shown exactly as the backend's inference worker answers the same request, choosing between two
// runs, and the errors a user can meet (no image among the files, an unreadable PPM, a file the backend
// refuses, no completed run), in English and Chinese.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { mount, type VueWrapper } from '@vue/test-utils'
import { createPinia } from 'pinia'
import type { Prediction } from '@shared/training'
import { setApi } from '@renderer/api'
import { createAppI18n } from '@renderer/i18n'
import en from '@renderer/i18n/en'
import zhCN from '@renderer/i18n/zh-CN'
import { useTrainingStore } from '@renderer/stores/training'
import PredictView from '@renderer/components/predict/PredictView.vue'
import { defaultTrainConfig } from '../../src/main/ml/train/config'
import { SHARED_DATA } from '../helpers'
import { SIGNS, buildProject, createRealApi, type BuiltProject, type RealApi } from './backend/realApi'

/** The first prediction forks the inference worker and loads TF.js through jiti: allow for it. */
const SLOW = { timeout: 60_000, interval: 50 }

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

/** A fresh backend on a copy of the trained project (or an empty one), and a fresh Pinia on it. */
async function open(from: string | null = project.path): Promise<RealApi> {
  api = await createRealApi(from ? { from } : {})
  await loadNumbers(api)
  setApi(api)
  pinia = createPinia()
  return api
}

/** Mount the view and wait until it has the runs (the picker shows, or the hint that there are none). */
async function mountView(locale: 'en' | 'zh-CN' = 'en', runs = true): Promise<VueWrapper> {
  const w = (wrapper = mount(PredictView, {
    global: { plugins: [pinia, createAppI18n(locale)] },
    attachTo: document.body
  }))
  await vi.waitFor(() => expect(api!.calls.some((c) => c.channel === 'training:list')).toBe(true))
  // A model is chosen once the view's own reload of the runs answered.
  if (runs) {
    await vi.waitFor(() =>
      expect((w.find('[data-test="predict-run"]').element as HTMLSelectElement | undefined)?.value).toMatch(
        /^\d+$/
      )
    )
  }
  return w
}

/**
 * A real GTSRB training frame of a sign, as the user's file. Indices 40.. lie outside what the fixture
 * imported (frames 0..27 of each class, and 142..149 unlabelled), so the model never saw them.
 */
function gtsrbFile(classId: number, index: number, name = `sign-${classId}-${index}.ppm`): File {
  const folder = join(SHARED_DATA, 'gtsrb-train', String(classId))
  const frames = readdirSync(folder)
    .filter((f) => f.endsWith('.ppm'))
    .sort()
  return new File([readFileSync(join(folder, frames[index]))], name)
}

async function bytesOf(file: File): Promise<string> {
  return Buffer.from(await file.arrayBuffer()).toString('base64')
}

/** Choose files in the view's file input, as the browser's picker does. */
async function pick(w: VueWrapper, files: File[]): Promise<void> {
  const input = w.find('[data-test="predict-files"]')
  ;(input.element as HTMLInputElement).files = files as unknown as FileList
  await input.trigger('change')
}

/** Drop files on the window (happy-dom has no DragEvent; the view reads only `dataTransfer`). */
function drop(dataTransfer: unknown): void {
  const event = new Event('drop', { cancelable: true })
  Object.defineProperty(event, 'dataTransfer', { value: dataTransfer })
  window.dispatchEvent(event)
}

/** What the view shows for each file: its name and, per bar, the class, the percentage and the bar width. */
function shown(w: VueWrapper) {
  return w.findAll('[data-test="prediction"]').map((card) => ({
    name: card.find('.name').text(),
    // A file that could not be predicted shows a placeholder named like the image would be.
    alt: card.find('img').exists()
      ? card.find('img').attributes('alt')
      : card.find('[role="img"]').attributes('aria-label'),
    rows: card.findAll('.bar-row').map((row) => ({
      name: row.find('.cls').text(),
      percent: row.find('.p').text(),
      width: (row.find('.fill').element as HTMLElement).style.width
    }))
  }))
}

/** Class numbers as the library shows them (position + 1), read from the backend. */
let numbers = new Map<number, number>()
async function loadNumbers(a: RealApi): Promise<void> {
  numbers = new Map((await a.invoke('classes:list', {})).map((c) => [c.id, c.position + 1]))
}

/** How the view ought to show a prediction the backend returned: each class by its number and name. */
function expectedRows(p: Prediction) {
  return p.top.map((c) => ({
    name: `${numbers.get(c.classId)} · ${c.name}`,
    percent: `${(c.probability * 100).toFixed(1)} %`,
    width: `${c.probability * 100}%`
  }))
}

function predictCalls(a: RealApi) {
  return a.calls.filter((c) => c.channel === 'training:predict')
}

describe('predict view', () => {
  it('offers the completed run and shows the top classes the backend predicts for picked GTSRB frames', async () => {
    const a = await open()
    const runId = project.runId!
    const w = await mountView()
    const [run] = await a.invoke('training:list', {})
    const options = w.findAll('[data-test="predict-run"] option')
    // Named with the accuracy the best run is chosen by: test, as this run was evaluated.
    expect(run.testAccuracy).not.toBeNull()
    expect(options.map((o) => o.text())).toEqual([
      `Run #${runId} (Custom small network) · test ${(run.testAccuracy! * 100).toFixed(1)} %`
    ])
    expect((w.find('[data-test="predict-run"]').element as HTMLSelectElement).value).toBe(String(runId))

    const files = [gtsrbFile(14, 40), gtsrbFile(13, 60), gtsrbFile(17, 80), gtsrbFile(1, 100)]
    a.delayNext('training:predict', 300)
    await pick(w, files)
    // The previews appear at once, named after the files, while the backend works.
    await vi.waitFor(() => expect(w.find('.hint').text()).toBe(en.predict.busy), SLOW)
    expect(shown(w).map((c) => [c.name, c.alt, c.rows.length])).toEqual(files.map((f) => [f.name, f.name, 0]))
    await vi.waitFor(() => expect(w.find('.hint').exists()).toBe(false), SLOW)
    expect(w.find('[data-test="predict-error"]').exists()).toBe(false)

    // What the view sent: the chosen run and each file's own bytes (a browser has no paths).
    const sent = predictCalls(a)
    expect(sent).toHaveLength(1)
    const payload = await Promise.all(
      files.map(async (f) => ({ name: f.name, dataBase64: await bytesOf(f) }))
    )
    expect(sent[0].args).toEqual({ runId, files: payload, top: 5 })

    // The same request straight to the backend answers what the view shows.
    const expected = await a.invoke('training:predict', { runId, files: payload, top: 5 })
    expect(expected.map((p) => p.error)).toEqual(files.map(() => undefined))
    expect(shown(w)).toEqual(
      files.map((f, i) => ({ name: f.name, alt: f.name, rows: expectedRows(expected[i]) }))
    )
    // Four classes in the project, so the top 5 are all four, each once, most probable first.
    const classes = await a.invoke('classes:list', {})
    expect(classes).toHaveLength(SIGNS.length)
    for (const p of expected) {
      expect(p.top.map((c) => c.classId).sort()).toEqual(classes.map((c) => c.id).sort())
      expect(p.top.map((c) => c.name)).toEqual(
        p.top.map((c) => classes.find((k) => k.id === c.classId)!.name)
      )
      const probs = p.top.map((c) => c.probability)
      expect(probs).toEqual([...probs].sort((x, y) => y - x))
      for (const q of probs) expect(q).toBeGreaterThanOrEqual(0)
      expect(probs.reduce((s, q) => s + q, 0)).toBeLessThanOrEqual(1 + 1e-5)
    }
    // Shown values are the backend's: the view neither re-sorts nor drops rows.
    for (const card of shown(w)) {
      const percents = card.rows.map((r) => Number.parseFloat(r.percent))
      expect(percents).toEqual([...percents].sort((x, y) => y - x))
    }
  })

  it('predicts files dropped on the window, and walks a dropped folder skipping what is not an image', async () => {
    const a = await open()
    const runId = project.runId!
    const w = await mountView()
    const stop = gtsrbFile(14, 45)
    const dt = new DataTransfer()
    dt.items.add(stop)
    drop(dt)
    await vi.waitFor(() => expect(shown(w)[0]?.rows).toHaveLength(4), SLOW)
    const [one] = await a.invoke('training:predict', {
      runId,
      files: [{ name: stop.name, dataBase64: await bytesOf(stop) }],
      top: 5
    })
    expect(shown(w)).toEqual([{ name: stop.name, alt: stop.name, rows: expectedRows(one) }])

    // A folder arrives as a directory entry (Chromium hands its children out in batches, then []).
    const yieldSign = gtsrbFile(13, 50)
    const noEntry = gtsrbFile(17, 55)
    const notes = new File(['not an image'], 'notes.txt')
    const fileEntry = (f: File) => ({
      isFile: true,
      isDirectory: false,
      file: (ok: (f: File) => void) => ok(f)
    })
    const dirEntry = (batches: unknown[][]) => ({
      isFile: false,
      isDirectory: true,
      createReader: () => {
        const left = [...batches, []]
        return { readEntries: (ok: (e: unknown[]) => void) => ok(left.shift() ?? []) }
      }
    })
    const folder = dirEntry([[fileEntry(yieldSign), fileEntry(notes)], [dirEntry([[fileEntry(noEntry)]])]])
    drop({ items: [{ webkitGetAsEntry: () => folder }], files: [] })
    await vi.waitFor(() => expect(shown(w).map((c) => c.name)).toEqual([yieldSign.name, noEntry.name]), SLOW)
    await vi.waitFor(() => expect(shown(w).every((c) => c.rows.length === 4)).toBe(true), SLOW)
    const sent = predictCalls(a).at(-1)!.args as { files: { name: string }[] }
    expect(sent.files.map((f) => f.name)).toEqual([yieldSign.name, noEntry.name])
    const both = await a.invoke('training:predict', {
      runId,
      files: [
        { name: yieldSign.name, dataBase64: await bytesOf(yieldSign) },
        { name: noEntry.name, dataBase64: await bytesOf(noEntry) }
      ],
      top: 5
    })
    expect(shown(w).map((c) => c.rows)).toEqual(both.map(expectedRows))
  })

  it('predicts with the run the user chooses', async () => {
    const a = await open()
    const first = project.runId!
    // A second real run of the compact CNN in this copy, from another seed (the same seed trains the very same network).
    const ended = new Promise<string>((ok) =>
      a.backend.on('training-progress', (e) => {
        if (e.type === 'completed' || e.type === 'failed' || e.type === 'cancelled') ok(e.type)
      })
    )
    const { runId: second } = await a.backend.handlers['training:start']({
      config: { ...defaultTrainConfig('custom'), epochs: 1, seed: 7 }
    })
    expect(await ended).toBe('completed')

    const w = await mountView()
    const select = w.find('[data-test="predict-run"]')
    expect(select.findAll('option').map((o) => o.attributes('value'))).toEqual([
      String(second),
      String(first)
    ])
    // The best run is chosen first, not the newest: only the first was evaluated on the test split, so it
    // is judged by test accuracy and the second (validation only) ranks after it. The user picks the first.
    const [newest, older] = await a.invoke('training:list', {})
    expect([newest.id, newest.testAccuracy, older.id]).toEqual([second, null, first])
    expect(older.testAccuracy).not.toBeNull()
    expect((select.element as HTMLSelectElement).value).toBe(String(first))
    expect(select.findAll('option').map((o) => o.text())[0]).toBe(
      `Run #${second} (Custom small network) · validation ${(newest.valAccuracy! * 100).toFixed(1)} %`
    )
    expect(w.find('[data-test="predict-best"]').text()).toBe(en.predict.best)
    await select.setValue(String(second))
    await select.setValue(String(first))

    const file = gtsrbFile(14, 70)
    await pick(w, [file])
    await vi.waitFor(() => expect(shown(w)[0]?.rows).toHaveLength(4), SLOW)
    expect((predictCalls(a)[0].args as { runId: number }).runId).toBe(first)
    const files = [{ name: file.name, dataBase64: await bytesOf(file) }]
    const [chosen] = await a.invoke('training:predict', { runId: first, files, top: 5 })
    const [other] = await a.invoke('training:predict', { runId: second, files, top: 5 })
    // Two independently trained networks: their outputs differ, and the view shows the chosen one's.
    expect(other.top).not.toEqual(chosen.top)
    expect(shown(w)[0].rows).toEqual(expectedRows(chosen))
    expect(useTrainingStore(pinia).completedRuns.map((r) => r.id)).toEqual([second, first])
  })

  it('says in the chosen language when none of the files is an image, and asks the backend nothing', async () => {
    const a = await open()
    const w = await mountView()
    await pick(w, [new File(['hello'], 'notes.txt'), new File(['{}'], 'labels.json')])
    await vi.waitFor(() => expect(w.find('[data-test="predict-error"]').text()).toBe(en.predict.noImages))
    expect(shown(w)).toEqual([])
    expect(predictCalls(a)).toEqual([])
    wrapper!.unmount()

    const zh = await mountView('zh-CN')
    expect(zh.find('h2').text()).toBe(zhCN.predict.title)
    await pick(zh, [new File(['hello'], 'notes.txt')])
    await vi.waitFor(() => expect(zh.find('[data-test="predict-error"]').text()).toBe(zhCN.predict.noImages))
    expect(predictCalls(a)).toEqual([])
  })

  it('keeps working when a PPM is broken: the good frames are predicted, the broken one gets no bars', async () => {
    const a = await open()
    const runId = project.runId!
    const w = await mountView()
    const good = gtsrbFile(17, 90)
    // A PPM header promising 32 x 32 pixels, followed by six bytes.
    const broken = new File(
      [new TextEncoder().encode('P6\n32 32\n255\n\x01\x02\x03\x04\x05\x06')],
      'broken.ppm'
    )
    await pick(w, [broken, good])
    await vi.waitFor(() => expect(shown(w)[1]?.rows).toHaveLength(4), SLOW)
    const [bad, ok] = await a.invoke('training:predict', {
      runId,
      files: [
        { name: broken.name, dataBase64: await bytesOf(broken) },
        { name: good.name, dataBase64: await bytesOf(good) }
      ],
      top: 5
    })
    // The backend reports the broken file by its name (not the temporary path it decoded it from).
    expect(bad.top).toEqual([])
    expect(bad.error).toMatch(/\S/)
    expect(bad.error).not.toContain('ts-predict-')
    expect(ok.error).toBeUndefined()
    expect(shown(w)).toEqual([
      { name: broken.name, alt: broken.name, rows: [] },
      { name: good.name, alt: good.name, rows: expectedRows(ok) }
    ])
    // The reason is said beside the broken file, and above: one file failed, the others did not.
    const reasons = w
      .findAll('[data-test="prediction"]')
      .map((c) => c.find('[data-test="predict-file-error"]'))
    expect(reasons[0].text()).toBe(`Not predicted: ${bad.error}`)
    expect(reasons[1].exists()).toBe(false)
    expect(w.find('[data-test="predict-error"]').text()).toBe(
      '1 file could not be predicted; the others were.'
    )

    // The view is still usable: the next pick replaces the cards.
    const next = gtsrbFile(1, 95)
    await pick(w, [next])
    await vi.waitFor(
      () => expect(shown(w).map((c) => [c.name, c.rows.length])).toEqual([[next.name, 4]]),
      SLOW
    )
  })

  it('predicts the good files beside an empty one, says why the empty one failed, and clears it next time', async () => {
    const a = await open()
    const runId = project.runId!
    const w = await mountView()
    // An empty file: the request's schema refuses an empty body, so sent along it would fail the whole call.
    const empty = new File([], 'empty.png')
    const goodOne = gtsrbFile(14, 45)
    await pick(w, [empty, goodOne])
    await vi.waitFor(() => expect(shown(w)[1]?.rows).toHaveLength(4), SLOW)
    const refusal = await a
      .invoke('training:predict', { runId, files: [{ name: empty.name, dataBase64: '' }], top: 5 })
      .then(
        () => null,
        (e: Error) => e.message
      )
    expect(refusal).toMatch(/\S/)
    const [ok] = await a.invoke('training:predict', {
      runId,
      files: [{ name: goodOne.name, dataBase64: await bytesOf(goodOne) }],
      top: 5
    })
    expect(shown(w)).toEqual([
      { name: empty.name, alt: empty.name, rows: [] },
      { name: goodOne.name, alt: goodOne.name, rows: expectedRows(ok) }
    ])
    expect(w.find('[data-test="predict-file-error"]').text()).toBe('Not predicted: The file is empty.')
    // Only the good file was sent.
    expect((predictCalls(a)[0].args as { files: unknown[] }).files).toHaveLength(1)

    const good = gtsrbFile(13, 77)
    await pick(w, [good])
    await vi.waitFor(() => expect(shown(w)[0]?.rows).toHaveLength(4), SLOW)
    expect(w.find('[data-test="predict-error"]').exists()).toBe(false)
  })

  it('says there is no model yet in a project without a completed run', async () => {
    await open(null)
    const w = await mountView('en', false)
    await vi.waitFor(() => expect(w.find('.hint').text()).toBe(en.predict.noRuns))
    expect(w.find('[data-test="predict-files"]').exists()).toBe(false)
    expect(w.find('[data-test="predict-run"]').exists()).toBe(false)
  })
})
