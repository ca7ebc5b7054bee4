// @vitest-environment happy-dom
// The start screen against the real backend without an open project: creating a project at a typed path (the
// file appears, the store and the backend hold it open), opening an existing GTSRB project, the recent list
// (order, a missing file, opening from it), and refused paths (empty, missing, not a project, taken) showing
// their message while the screen stays usable.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { mount, flushPromises, type VueWrapper } from '@vue/test-utils'
import { createPinia, type Pinia } from 'pinia'
import { setApi } from '@renderer/api'
import { createAppI18n } from '@renderer/i18n'
import { useProjectStore } from '@renderer/stores/project'
import StartScreen from '@renderer/components/app/StartScreen.vue'
import { buildProject, createRealApi, type BuiltProject, type RealApi } from './backend/realApi'

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

/** A real backend with no project open, and the start screen over it (loaded as App loads it). */
async function startScreen(
  before: (api: RealApi) => Promise<void> = async () => undefined,
  locale: 'en' | 'zh-CN' = 'en'
): Promise<{ api: RealApi; pinia: Pinia; w: VueWrapper }> {
  api = await createRealApi({ project: false })
  await before(api)
  setApi(api)
  const pinia = createPinia()
  await useProjectStore(pinia).load()
  wrapper = mount(StartScreen, {
    global: { plugins: [pinia, createAppI18n(locale)] },
    attachTo: document.body
  })
  await flushPromises()
  return { api, pinia, w: wrapper }
}

async function submit(w: VueWrapper, field: 'create-path' | 'open-path', path: string): Promise<void> {
  await w.find(`[data-test="${field}"]`).setValue(path)
  await w.find(field === 'create-path' ? '[data-test="create"]' : '[data-test="open"]').trigger('click')
  await flushPromises()
}

function recentRows(w: VueWrapper) {
  return w.findAll('[data-test="recent"]').map((r) => ({
    name: r.find('.name').text(),
    path: r.find('.path').text(),
    status: r.find('.hint').text(),
    disabled: (r.element as HTMLButtonElement).disabled
  }))
}

const errorText = (w: VueWrapper): string | null => {
  const e = w.find('[data-test="start-error"]')
  return e.exists() ? e.text() : null
}

let built: BuiltProject
beforeAll(async () => {
  built = await buildProject({ perClass: 3, unlabelled: 2 })
})
afterAll(() => built?.remove())

describe('start screen', () => {
  it('creates a project at a typed path: the file appears and it is open in the store and the backend', async () => {
    const { api, pinia, w } = await startScreen()
    expect(w.find('[data-test="no-recent"]').text()).toBe('No recent projects yet.')
    const path = join(api.dir, 'new folder', 'road signs.tsproj')
    await submit(w, 'create-path', `  ${path}  `)
    await vi.waitFor(() => expect(useProjectStore(pinia).current?.path).toBe(path))
    expect(errorText(w)).toBeNull()
    // A real SQLite file, and the backend has it open under its file name.
    expect(readFileSync(path).subarray(0, 15).toString()).toBe('SQLite format 3')
    expect(useProjectStore(pinia).current?.name).toBe('road signs')
    expect(await api.invoke('project:current', {})).toMatchObject({ path, name: 'road signs' })
    expect(await api.invoke('library:stats', {})).toMatchObject({ images: 0 })
    // The recent list now shows it (the store asks for it after the create answered).
    await vi.waitFor(() => expect(w.find('[data-test="no-recent"]').exists()).toBe(false))
    const rows = recentRows(w)
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ name: 'road signs', path, disabled: false })
    expect(rows[0].status).toMatch(/^Opened \S/)
    expect(await api.invoke('project:recent', {})).toMatchObject([{ path, exists: true }])
  })

  it('opens an existing project by its path, with its images and classes', async () => {
    const { api, pinia, w } = await startScreen()
    await submit(w, 'open-path', built.path)
    await vi.waitFor(() => expect(useProjectStore(pinia).current?.path).toBe(built.path))
    expect(errorText(w)).toBeNull()
    expect(useProjectStore(pinia).current?.name).toBe('signs')
    // The backend really opened that file: the 4 × 3 GTSRB frames and 2 unlabelled ones are there.
    expect(await api.invoke('project:current', {})).toMatchObject({ path: built.path })
    expect(await api.invoke('library:stats', {})).toMatchObject({ images: 14, labelled: 12, unlabelled: 2 })
    expect((await api.invoke('classes:list', {})).map((c) => c.count)).toEqual([3, 3, 3, 3])
    await vi.waitFor(() => expect(recentRows(w).map((r) => r.path)).toEqual([built.path]))
  })

  it('lists recent projects newest first, marks a missing one, and opens one with a click', async () => {
    const { api, pinia, w } = await startScreen(async (api) => {
      const gone = join(api.dir, 'gone.tsproj')
      await api.invoke('project:create', { path: gone })
      await api.invoke('project:create', { path: join(api.dir, 'alpha.tsproj') })
      await api.invoke('classes:add', { name: 'Stop' })
      await api.invoke('project:create', { path: join(api.dir, 'beta.tsproj') })
      rmSync(gone)
    })
    const rows = recentRows(w)
    expect(rows.map((r) => r.name)).toEqual(['beta', 'alpha', 'gone'])
    expect(rows.map((r) => r.disabled)).toEqual([false, false, true])
    expect(rows[2].status).toBe('missing')
    expect(rows[1].status).toMatch(/^Opened \S/)

    // The missing one cannot be opened.
    const before = api.calls.length
    await w.findAll('[data-test="recent"]')[2].trigger('click')
    await flushPromises()
    expect(api.calls.slice(before).some((c) => c.channel === 'project:open')).toBe(false)
    expect(useProjectStore(pinia).current?.name).toBe('beta')

    // Alpha opens, with the class that was added to it, and moves to the top of the list.
    await w.findAll('[data-test="recent"]')[1].trigger('click')
    await vi.waitFor(() => expect(useProjectStore(pinia).current?.name).toBe('alpha'))
    expect(await api.invoke('project:current', {})).toMatchObject({ path: join(api.dir, 'alpha.tsproj') })
    expect((await api.invoke('classes:list', {})).map((c) => c.name)).toEqual(['Stop'])
    await vi.waitFor(() => expect(recentRows(w).map((r) => r.name)).toEqual(['alpha', 'beta', 'gone']))
  })

  it('says why a path was refused, opens nothing, and still creates a project afterwards', async () => {
    const { api, pinia, w } = await startScreen()
    const project = useProjectStore(pinia)

    // Nothing typed: a message of the UI's own, and no request.
    await submit(w, 'create-path', '   ')
    expect(errorText(w)).toBe('Enter the path of the project file.')
    await submit(w, 'open-path', '')
    expect(errorText(w)).toBe('Enter the path of the project file.')
    expect(api.calls.some((c) => c.channel === 'project:create' || c.channel === 'project:open')).toBe(false)

    // A file that does not exist.
    const missing = join(api.dir, 'nowhere', 'x.tsproj')
    await submit(w, 'open-path', missing)
    await vi.waitFor(() => expect(errorText(w)).toBe(`project file not found: ${missing}`))
    expect(existsSync(missing)).toBe(false)

    // A file that is not a project.
    const junk = join(api.dir, 'notes.tsproj')
    writeFileSync(junk, 'these are my notes, not a database\n'.repeat(200))
    await submit(w, 'open-path', junk)
    await vi.waitFor(() => expect(errorText(w)).toMatch(new RegExp(`^cannot open project ${junk}: .+`)))
    expect(readFileSync(junk, 'utf8')).toBe('these are my notes, not a database\n'.repeat(200))

    // Creating over an existing file is refused, and the file is left alone.
    await submit(w, 'create-path', junk)
    await vi.waitFor(() =>
      expect(errorText(w)).toBe(`a file already exists at ${junk}; open it or choose another name`)
    )
    expect(readFileSync(junk, 'utf8')).toBe('these are my notes, not a database\n'.repeat(200))

    // A folder is not a project file either.
    const folder = join(api.dir, 'a-folder.tsproj')
    mkdirSync(folder)
    await submit(w, 'open-path', folder)
    await vi.waitFor(() => expect(errorText(w)).toMatch(new RegExp(`^cannot open project ${folder}: .+`)))

    expect(project.current).toBeNull()
    expect(await api.invoke('project:current', {})).toBeNull()
    expect(w.find('[data-test="no-recent"]').exists()).toBe(true)

    // The screen still works: a good path creates the project and clears the message.
    const good = join(api.dir, 'good.tsproj')
    await submit(w, 'create-path', good)
    await vi.waitFor(() => expect(project.current?.path).toBe(good))
    expect(errorText(w)).toBeNull()
    expect(existsSync(good)).toBe(true)
    await vi.waitFor(() => expect(recentRows(w).map((r) => r.name)).toEqual(['good']))
  })

  it('shows its own messages and labels in the chosen language', async () => {
    const { w } = await startScreen(undefined, 'zh-CN')
    expect(w.find('h2').text()).toBe('新建项目')
    expect(w.find('[data-test="no-recent"]').text()).toBe('还没有最近的项目。')
    await submit(w, 'create-path', '')
    expect(errorText(w)).toBe('请输入项目文件的路径。')
    await w.find('[data-test="language"]').setValue('en')
    expect(w.find('h2').text()).toBe('Create a project')
    expect(w.find('[data-test="no-recent"]').text()).toBe('No recent projects yet.')
    // A message shown before the switch is kept as it was written; a new one comes in English.
    await submit(w, 'open-path', ' ')
    expect(errorText(w)).toBe('Enter the path of the project file.')
  })
})
