// Guards of the local server: the per-start token, the Host/Origin checks against DNS rebinding and
// cross-site pages, and the Content-Security-Policy the page is served with.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/** A fresh random token (24 bytes, base64url) for one server start. */
export function newToken(): string {
  return randomBytes(24).toString('base64url')
}

/** Constant-time comparison; hashing first makes both sides the same length without leaking it. */
export function tokenMatches(expected: string, given: string | null | undefined): boolean {
  if (typeof given !== 'string') return false
  const a = createHash('sha256').update(expected).digest()
  const b = createHash('sha256').update(given).digest()
  return timingSafeEqual(a, b)
}

/** Host headers a loopback server answers to (`127.0.0.1:PORT`, `localhost:PORT`). */
export function loopbackHosts(port: number): string[] {
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]
}

/** Whether `host` names a loopback interface. */
export function isLoopbackHost(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

/**
 * A browser page may open the WebSocket only from the page this server served: its Origin must be
 * `http://` + an accepted Host. Clients without an Origin header are not browsers; they still need the token.
 */
export function originAllowed(origin: string | undefined, acceptedHosts: string[]): boolean {
  if (origin === undefined) return true
  return acceptedHosts.some((host) => origin === `http://${host}`)
}

/** The page may load only its own files, talk only to this server, and show data:/blob: images. */
export function contentSecurityPolicy(port: number, extraHosts: string[] = []): string {
  const sockets = [...loopbackHosts(port).slice(0, 2), ...extraHosts].map((h) => `ws://${h}`)
  return [
    "default-src 'self'",
    "script-src 'self'",
    // Inline style attributes only (Vue and ECharts set sizes that way); styles cannot run code.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src 'self' ${sockets.join(' ')}`,
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'"
  ].join('; ')
}
