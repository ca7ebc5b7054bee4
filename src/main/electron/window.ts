// The desktop window's security settings, apart from Electron so a plain-Node test can check them: the
// BrowserWindow options (isolated, sandboxed, no Node in the page), the Content-Security-Policy header, and
// the guards for navigation, pop-ups and which frames may call the backend. index.ts wires them up.
import type { BrowserWindowConstructorOptions } from 'electron'
import { MEDIA_PROTOCOL } from '../../shared/ipc'

/** The header twin of the renderer's CSP meta tag; the dev server needs its HMR socket too. */
export function contentSecurityPolicy(devServerUrl?: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    `img-src 'self' data: blob: ${MEDIA_PROTOCOL}:`,
    `connect-src 'self'${devServerUrl ? ' ws://localhost:* ws://127.0.0.1:*' : ''}`,
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'"
  ].join('; ')
}

/** The main window: the page gets only the preload's API, never Node or Electron. */
export function windowOptions(preload: string): BrowserWindowConstructorOptions {
  return {
    width: 1280,
    height: 820,
    minWidth: 900,
    minHeight: 600,
    show: false,
    title: 'Transfer Studio',
    webPreferences: {
      preload,
      contextIsolation: true,
      nodeIntegration: false,
      sandbox: true,
      webSecurity: true
    }
  }
}

/**
 * Whether a frame at `url` is our own page, which alone may call the backend: the dev server's origin, or
 * the built renderer file itself (`rendererUrl` is then its file: URL). A look-alike host that merely starts
 * with the dev server's address, or another file, is not.
 */
export function isTrustedUrl(url: string, rendererUrl: string): boolean {
  let u: URL
  let r: URL
  try {
    u = new URL(url)
    r = new URL(rendererUrl)
  } catch {
    return false
  }
  if (r.protocol === 'file:') return u.protocol === 'file:' && u.pathname === r.pathname
  return u.origin === r.origin
}

/** The app is a single page: navigation is allowed only to the page it shows (a reload). */
export function allowNavigation(currentUrl: string, targetUrl: string): boolean {
  return targetUrl === currentUrl
}

/** No pop-ups: every `window.open` and target=_blank link is denied. */
export const denyWindowOpen = (): { action: 'deny' } => ({ action: 'deny' })
