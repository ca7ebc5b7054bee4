// @vitest-environment happy-dom
// The class manager against the real backend on a project of real GTSRB frames (4 classes × 4, 2 unlabelled):
// the list as shown (shortcut, name, count), adding, renaming, merging and deleting (to unlabelled or into
// another class), each checked against the backend's class list and the stored image labels, and the
// refusals (empty names, a duplicate) showing their message and changing nothing.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { mount, flushPromises, type DOMWrapper, type VueWrapper } from '@vue/test-utils'
import { createPinia } from 'pinia'
import { setApi } from '@renderer/api'
import { createAppI18n } from '@renderer/i18n'
import { useClassesStore } from '@renderer/stores/classes'
import ClassManagerDialog from '@renderer/components/library/ClassManagerDialog.vue'
import type { ClassInfo } from '@shared/types'
import { buildProject, createRealApi, labelsOf, type BuiltProject, type RealApi } from './backend/realApi'

let wrapper: VueWrapper | null = null
let api: RealApi | null = null
afterEach(async () => {
  wrapper?.unmount()
  wrapper = null
  setApi(null)
  document.body.innerHTML = ''
  await api?.dispose()
  api = null
})

let built: BuiltProject
beforeAll(async () => {
  built = await buildProject({ perClass: 4, unlabelled: 2 })
})
afterAll(() => built?.remove())

/** Requests the dialog sent that have not been answered yet. */
let pending = 0

/** A copy of the project, and the dialog over it with the class list loaded as the library view loads it. */
async function openDialog(): Promise<{ api: RealApi; w: VueWrapper }> {
  api = await createRealApi({ from: built.path })
  // Count the requests in flight, so a click can wait for the answers it caused (the backend stays real).
  const invoke = api.invoke.bind(api)
  api.invoke = async (channel, args) => {
    pending++
    try {
      return await invoke(channel, args)
    } finally {
      pending--
    }
  }
  setApi(api)
  const pinia = createPinia()
  await useClassesStore(pinia).load()
  wrapper = mount(ClassManagerDialog, {
    global: { plugins: [pinia, createAppI18n('en')] },
    attachTo: document.body
  })
  await flushPromises()
  return { api, w: wrapper }
}

/** The table as shown. */
function shown(w: VueWrapper) {
  return w.findAll('[data-test="cm-row"]').map((tr) => ({
    shortcut: tr.find('[data-test="cm-shortcut"]').exists()
      ? tr.find('[data-test="cm-shortcut"]').text()
      : '',
    name: tr.find('[data-test="cm-name"]').exists() ? tr.find('[data-test="cm-name"]').text() : null,
    count: Number(tr.find('[data-test="cm-count"]').text())
  }))
}

function row(w: VueWrapper, name: string): DOMWrapper<Element> {
  const found = w
    .findAll('[data-test="cm-row"]')
    .find((tr) => tr.find('[data-test="cm-name"]').text() === name)
  if (!found) throw new Error(`no row for ${name}`)
  return found
}

async function classes(api: RealApi): Promise<ClassInfo[]> {
  return [...(await api.invoke('classes:list', {}))].sort((a, b) => a.position - b.position)
}

async function byName(api: RealApi, name: string): Promise<ClassInfo> {
  const c = (await classes(api)).find((x) => x.name === name)
  if (!c) throw new Error(`the backend has no class ${name}`)
  return c
}

/** Ids of the images labelled with a class, from the backend. */
async function imagesOf(api: RealApi, classId: number): Promise<number[]> {
  const page = await api.invoke('library:query', { filter: { classIds: [classId] }, offset: 0, limit: 1000 })
  return page.items.map((i) => i.id)
}

/** Click, then wait for the requests it started (a change, then the list reload) to be answered. */
async function click(w: VueWrapper | DOMWrapper<Element>, selector: string): Promise<void> {
  await w.find(selector).trigger('click')
  await vi.waitFor(() => expect(pending).toBe(0))
  await flushPromises()
}

const errorText = (w: VueWrapper): string | null => {
  const e = w.find('[data-test="cm-error"]')
  return e.exists() ? e.text() : null
}
const callsTo = (api: RealApi, channel: string) => api.calls.filter((c) => c.channel === channel).length

/**
 * The fourth class, of the 30 km/h frames. Its folder name holds a "/", so linkSigns nests it in two folders
 * and the import names the class after the inner one; the tests take whatever name the backend gave it.
 */
async function speedClass(api: RealApi): Promise<ClassInfo> {
  const c = (await classes(api)).find((x) => !['Stop', 'Yield', 'No entry'].includes(x.name))
  if (!c) throw new Error('the backend has no fourth class')
  return c
}

describe('class manager', () => {
  it('lists the classes in shortcut order with their key and image count, as the backend has them', async () => {
    const { api, w } = await openDialog()
    const stored = await classes(api)
    expect(stored.map((c) => c.count)).toEqual([4, 4, 4, 4])
    expect(shown(w)).toEqual(
      stored.map((c, i) => ({ shortcut: String(i + 1), name: c.name, count: c.count }))
    )
    expect(
      shown(w)
        .map((r) => r.name)
        .sort()
    ).toEqual(['No entry', (await speedClass(api)).name, 'Stop', 'Yield'].sort())
    expect(w.find('[data-test="cm-empty"]').exists()).toBe(false)
    expect(errorText(w)).toBeNull()
  })

  it('adds a class, and refuses an empty or duplicate name with a message', async () => {
    const { api, w } = await openDialog()
    const input = () => w.find('[data-test="cm-new"]').element as HTMLInputElement

    await w.find('[data-test="cm-new"]').setValue('  Give way  ')
    await click(w, '[data-test="cm-add"]')
    expect(await byName(api, 'Give way')).toMatchObject({ key: 'Give way', count: 0, position: 4 })
    expect(shown(w).at(-1)).toEqual({ shortcut: '5', name: 'Give way', count: 0 })
    expect(input().value).toBe('')
    expect(errorText(w)).toBeNull()

    // No name: refused before the backend is asked.
    const adds = callsTo(api, 'classes:add')
    await w.find('[data-test="cm-new"]').setValue('   ')
    await click(w, '[data-test="cm-add"]')
    expect(errorText(w)).toBe('A class needs a name.')
    expect(callsTo(api, 'classes:add')).toBe(adds)

    // A name (and so a key) that exists: the backend refuses, the dialog says why and keeps what was typed.
    await w.find('[data-test="cm-new"]').setValue('Stop')
    await click(w, '[data-test="cm-add"]')
    expect(callsTo(api, 'classes:add')).toBe(adds + 1)
    expect(errorText(w)).toBe('a class with key "Stop" already exists')
    expect(input().value).toBe('Stop')
    expect((await classes(api)).map((c) => c.name).filter((n) => n === 'Stop')).toHaveLength(1)
    expect(await classes(api)).toHaveLength(5)
    expect(shown(w)).toHaveLength(5)

    // The next good add clears the message.
    await w.find('[data-test="cm-new"]').setValue('Priority road')
    await click(w, '[data-test="cm-add"]')
    expect(errorText(w)).toBeNull()
    expect((await classes(api)).map((c) => c.name).slice(4)).toEqual(['Give way', 'Priority road'])
  })

  it('renames a class, keeping its id, key and images; refuses an empty name', async () => {
    const { api, w } = await openDialog()
    const stop = await byName(api, 'Stop')
    const stopImages = await imagesOf(api, stop.id)
    expect(stopImages).toHaveLength(4)

    await click(row(w, 'Stop'), '[data-test="cm-rename"]')
    const edit = () => w.find('[data-test="cm-rename-input"]')
    expect((edit().element as HTMLInputElement).value).toBe('Stop')
    await edit().setValue(' Stop sign ')
    await click(w, '[data-test="cm-save"]')
    expect(edit().exists()).toBe(false)
    expect(await classes(api)).toContainEqual({ ...stop, name: 'Stop sign' })
    expect(await labelsOf(api, stopImages)).toEqual(Array(4).fill(stop.id))
    expect(shown(w).find((r) => r.name === 'Stop sign')).toMatchObject({ count: 4 })
    expect(shown(w).some((r) => r.name === 'Stop')).toBe(false)

    // An empty name is refused and the edit stays open; Cancel closes it without a change.
    await click(row(w, 'Yield'), '[data-test="cm-rename"]')
    const renames = callsTo(api, 'classes:rename')
    await edit().setValue('  ')
    await click(w, '[data-test="cm-save"]')
    expect(errorText(w)).toBe('A class needs a name.')
    expect(edit().exists()).toBe(true)
    expect(callsTo(api, 'classes:rename')).toBe(renames)
    const cancel = w.findAll('button').find((b) => b.text() === 'Cancel')!
    await cancel.trigger('click')
    await flushPromises()
    expect(edit().exists()).toBe(false)
    expect((await byName(api, 'Yield')).name).toBe('Yield')
    expect(callsTo(api, 'classes:rename')).toBe(renames)
  })

  it('merges a class into another: its images move there and it is gone', async () => {
    const { api, w } = await openDialog()
    const yieldCls = await byName(api, 'Yield')
    const stop = await byName(api, 'Stop')
    const yieldImages = await imagesOf(api, yieldCls.id)
    const stopImages = await imagesOf(api, stop.id)

    await click(row(w, 'Yield'), '[data-test="cm-merge"]')
    expect(w.find('.action-row').text()).toContain(
      'All images of Yield move to the chosen class, then Yield is deleted.'
    )
    // The choices are the other classes, never Yield itself.
    const options = w.findAll('[data-test="cm-target"] option').map((o) => o.text())
    expect(options.sort()).toEqual(['No entry', (await speedClass(api)).name, 'Stop'].sort())
    await w.find('[data-test="cm-target"]').setValue(String(stop.id))
    await click(w, '[data-test="cm-confirm"]')

    expect(api.calls.filter((c) => c.channel === 'classes:merge').map((c) => c.args)).toEqual([
      { sourceId: yieldCls.id, targetId: stop.id }
    ])
    const after = await classes(api)
    expect(after.map((c) => c.name)).not.toContain('Yield')
    expect(after.map((c) => c.position)).toEqual([0, 1, 2])
    expect(await labelsOf(api, [...yieldImages, ...stopImages])).toEqual(Array(8).fill(stop.id))
    expect(await byName(api, 'Stop')).toMatchObject({ id: stop.id, count: 8 })
    expect(w.find('.action-row').exists()).toBe(false)
    expect(shown(w)).toEqual(after.map((c, i) => ({ shortcut: String(i + 1), name: c.name, count: c.count })))
    expect(shown(w).find((r) => r.name === 'Stop')!.count).toBe(8)
  })

  it('deletes classes, their images becoming unlabelled or moving to the chosen class', async () => {
    const { api, w } = await openDialog()
    const noEntry = await byName(api, 'No entry')
    const speed = await speedClass(api)
    const yieldCls = await byName(api, 'Yield')
    const noEntryImages = await imagesOf(api, noEntry.id)
    const speedImages = await imagesOf(api, speed.id)

    // Cancel first: nothing is sent.
    await click(row(w, 'No entry'), '[data-test="cm-delete"]')
    expect(w.find('.action-row').text()).toContain('What happens to its images?')
    await w
      .find('.action-row')
      .findAll('button')
      .find((b) => b.text() === 'Cancel')!
      .trigger('click')
    expect(w.find('.action-row').exists()).toBe(false)
    expect(callsTo(api, 'classes:delete')).toBe(0)

    // The default choice: its images become unlabelled.
    await click(row(w, 'No entry'), '[data-test="cm-delete"]')
    const select = w.find('[data-test="cm-target"]').element as HTMLSelectElement
    expect(select.options[select.selectedIndex].text).toBe('Become unlabelled')
    await click(w, '[data-test="cm-confirm"]')
    expect(await labelsOf(api, noEntryImages)).toEqual([null, null, null, null])
    expect(await api.invoke('library:stats', {})).toMatchObject({ images: 18, labelled: 12, unlabelled: 6 })
    expect((await classes(api)).map((c) => c.name)).not.toContain('No entry')
    expect(shown(w).map((r) => r.name)).not.toContain('No entry')

    // Or they move to another class.
    await click(row(w, speed.name), '[data-test="cm-delete"]')
    expect(w.findAll('[data-test="cm-target"] option').map((o) => o.text())).toContain('Move to Yield')
    await w.find('[data-test="cm-target"]').setValue(String(yieldCls.id))
    await click(w, '[data-test="cm-confirm"]')
    expect(api.calls.filter((c) => c.channel === 'classes:delete').map((c) => c.args)).toEqual([
      { id: noEntry.id, reassignTo: null },
      { id: speed.id, reassignTo: yieldCls.id }
    ])
    expect(await labelsOf(api, speedImages)).toEqual(Array(4).fill(yieldCls.id))
    const left = await classes(api)
    expect(left.map((c) => [c.name, c.count]).sort()).toEqual([
      ['Stop', 4],
      ['Yield', 8]
    ])
    expect(left.map((c) => c.position)).toEqual([0, 1])
    expect(shown(w)).toEqual(left.map((c, i) => ({ shortcut: String(i + 1), name: c.name, count: c.count })))

    // With one class left there is nothing to merge into.
    expect((row(w, 'Stop').find('[data-test="cm-merge"]').element as HTMLButtonElement).disabled).toBe(false)
    await click(row(w, 'Stop'), '[data-test="cm-delete"]')
    await click(w, '[data-test="cm-confirm"]')
    await vi.waitFor(() => expect(shown(w).map((r) => r.name)).toEqual(['Yield']))
    expect((row(w, 'Yield').find('[data-test="cm-merge"]').element as HTMLButtonElement).disabled).toBe(true)
    expect((await classes(api)).map((c) => c.name)).toEqual(['Yield'])
  })
})
