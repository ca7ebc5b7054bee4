// The desktop window's security settings, checked without Electron: the page is isolated and sandboxed with
// no Node, the CSP allows no eval or foreign scripts, and navigation, pop-ups and backend calls are confined
// to the app's own page.
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import {
  allowNavigation,
  contentSecurityPolicy,
  denyWindowOpen,
  isTrustedUrl,
  windowOptions
} from '../../../src/main/electron/window'

describe('desktop window security', () => {
  it('isolates and sandboxes the page, with no Node integration', () => {
    const web = windowOptions('/app/out/preload/index.js').webPreferences!
    expect(web).toMatchObject({
      preload: '/app/out/preload/index.js',
      contextIsolation: true,
      nodeIntegration: false,
      sandbox: true,
      webSecurity: true
    })
    expect(web.nodeIntegrationInWorker ?? false).toBe(false)
    expect(web.webviewTag ?? false).toBe(false)
  })

  it('sends a CSP without eval, inline scripts or foreign sources', () => {
    for (const csp of [contentSecurityPolicy(), contentSecurityPolicy('http://localhost:5173')]) {
      const directives = new Map(
        csp.split(';').map((d) => {
          const [name, ...values] = d.trim().split(/\s+/)
          return [name, values] as const
        })
      )
      expect(csp).not.toContain('unsafe-eval')
      expect(directives.get('script-src')).toEqual(["'self'"])
      expect(directives.get('default-src')).toEqual(["'self'"])
      expect(directives.get('object-src')).toEqual(["'none'"])
      expect(directives.get('frame-ancestors')).toEqual(["'none'"])
    }
    // Only the dev build opens the HMR socket.
    expect(contentSecurityPolicy()).not.toContain('ws:')
    expect(contentSecurityPolicy('http://localhost:5173')).toContain('ws://localhost:*')
  })

  it('refuses navigation away from the page and every pop-up', () => {
    const page = 'file:///app/out/renderer/index.html'
    expect(allowNavigation(page, page)).toBe(true)
    expect(allowNavigation(page, 'https://example.com/')).toBe(false)
    expect(allowNavigation(page, 'file:///etc/passwd')).toBe(false)
    expect(denyWindowOpen()).toEqual({ action: 'deny' })
  })

  it('trusts only frames of our own page to call the backend', () => {
    const renderer = pathToFileURL('/app/out/renderer/index.html').href
    expect(isTrustedUrl(`${renderer}#/library`, renderer)).toBe(true)
    expect(isTrustedUrl('file:///tmp/evil.html', renderer)).toBe(false)
    expect(isTrustedUrl('https://example.com/', renderer)).toBe(false)
    const dev = 'http://localhost:5173'
    expect(isTrustedUrl('http://localhost:5173/#/train', dev)).toBe(true)
    expect(isTrustedUrl('http://localhost:5173.evil.com/', dev)).toBe(false)
    expect(isTrustedUrl('http://localhost:5174/', dev)).toBe(false)
    expect(isTrustedUrl('not a url', dev)).toBe(false)
  })
})
