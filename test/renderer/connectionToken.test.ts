// @vitest-environment happy-dom
// A served page opened without its token, or with an earlier start's token (issue 14 item 8a): the client
// names that case instead of "lost the connection, reload", and the banner says where the URL is printed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { mount } from '@vue/test-utils'
import { createPinia } from 'pinia'
import { createBackend, type Backend } from '../../src/main/backend'
import { startServer, type RunningServer } from '../../src/main/server'
import { createWsApi, setApi, TOKEN_MISSING, TOKEN_REJECTED, type WsApi } from '@renderer/api'
import { createAppI18n } from '@renderer/i18n'
import App from '@renderer/App.vue'
import { tempDir } from '../helpers'

let tmp: ReturnType<typeof tempDir>
let backend: Backend
let server: RunningServer
let origin: string

beforeAll(async () => {
  tmp = tempDir('ts-token-')
  backend = createBackend({ dataDir: join(tmp.dir, 'data'), projectPath: join(tmp.dir, 'p.tsproj') })
  server = await startServer({ backend, port: 0 })
  origin = `http://127.0.0.1:${server.port}`
  ;(window as unknown as { happyDOM: { setURL(url: string): void } }).happyDOM.setURL(`${origin}/`)
})

afterAll(async () => {
  await server?.close()
  await backend?.dispose()
  tmp?.remove()
})

/** The last (state, reason) the client reported once it settles on `closed` with a reason. */
function settled(api: WsApi, want: string): Promise<{ state: string; reason?: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${want}' within 5 s`)), 5000)
    api.onConnection((state, reason) => {
      if (state === 'closed' && reason === want) {
        clearTimeout(timer)
        resolve({ state, reason })
      }
    })
  })
}

describe('a URL without its token', () => {
  it('is reported as a missing token, with no socket and no hanging call', async () => {
    const api = createWsApi(origin, '')
    expect(await settled(api, TOKEN_MISSING)).toEqual({ state: 'closed', reason: TOKEN_MISSING })
    const error = await api.invoke('project:current', {}).catch((e: unknown) => e)
    expect((error as Error).name).toBe('ConnectionError')
  })

  it('is told apart from a token the server refuses (an earlier start)', async () => {
    const api = createWsApi(origin, 'token-of-an-earlier-start')
    expect((await settled(api, TOKEN_REJECTED)).reason).toBe(TOKEN_REJECTED)
  })

  it('shows a banner in both languages that names the printed URL, not a reload', async () => {
    for (const [locale, words] of [
      ['en', ['access token', 'npm start', 'transfer-studio serve']],
      ['zh-CN', ['访问令牌', 'npm start', '终端']]
    ] as const) {
      const api = createWsApi(origin, '')
      setApi(api)
      const w = mount(App, { global: { plugins: [createPinia(), createAppI18n(locale)] } })
      await new Promise((r) => setTimeout(r, 50))
      const banner = w.find('[data-test="connection-banner"]')
      expect(banner.exists()).toBe(true)
      for (const word of words) expect(banner.text()).toContain(word)
      expect(banner.text()).not.toMatch(/reload the page to reconnect|刷新页面重新连接/i)
      w.unmount()
      setApi(null)
    }
  })
})
