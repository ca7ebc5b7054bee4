// Ambient types for the renderer: SFC modules and the API object the Electron preload may expose.
/// <reference types="vite/client" />
import type { StudioApi } from '@shared/ipc'

declare module '*.vue' {
  import type { DefineComponent } from 'vue'
  const component: DefineComponent<object, object, unknown>
  export default component
}

declare global {
  interface Window {
    /** Present only inside Electron (set by the preload through contextBridge). */
    api?: StudioApi
  }
}

export {}
