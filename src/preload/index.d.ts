// What the preload adds to the renderer's global scope (the renderer's env.d.ts declares the same).
import type { StudioApi } from '../shared/ipc'

declare global {
  interface Window {
    /** Present only inside Electron; a browser page uses the WebSocket client instead. */
    api?: StudioApi
  }
}

export {}
