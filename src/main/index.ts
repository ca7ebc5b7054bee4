// Composition root of the desktop app: build the backend, bind it to IPC and the media protocol, and open
// the window. Everything with logic lives in services (via createBackend) or the renderer.
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { app, BrowserWindow, dialog, session, type OpenDialogOptions, type WebFrameMain } from 'electron'
import { createBackend, type DialogOpenArgs } from './backend'
import { bindIpc, handleMediaProtocol, registerMediaScheme } from './electron/ipc'
import {
  allowNavigation,
  contentSecurityPolicy,
  denyWindowOpen,
  isTrustedUrl,
  windowOptions
} from './electron/window'

/** Set by `electron-vite dev`; absent in a build, where the renderer is a file beside this bundle. */
const devServerUrl = process.env['ELECTRON_RENDERER_URL']
const rendererFile = join(__dirname, '../renderer/index.html')

const CSP = contentSecurityPolicy(devServerUrl)

registerMediaScheme()

/** The native open dialog behind `dialog:open`, attached to the focused window when there is one. */
async function openDialog(args: DialogOpenArgs): Promise<string[]> {
  const properties: OpenDialogOptions['properties'] = [args.kind === 'folder' ? 'openDirectory' : 'openFile']
  if (args.kind === 'folder') properties.push('createDirectory')
  if (args.multiple) properties.push('multiSelections')
  const options: OpenDialogOptions = { title: args.title, filters: args.filters, properties }
  const win = BrowserWindow.getFocusedWindow()
  const result = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options)
  return result.canceled ? [] : result.filePaths
}

/** Only our own page may call the backend. */
function isTrusted(frame: WebFrameMain | null): boolean {
  return frame !== null && isTrustedUrl(frame.url, devServerUrl ?? pathToFileURL(rendererFile).href)
}

function createWindow(): BrowserWindow {
  const win = new BrowserWindow(windowOptions(join(__dirname, '../preload/index.js')))
  win.once('ready-to-show', () => win.show())
  // The app is a single page: no pop-ups, no navigation away from it.
  win.webContents.setWindowOpenHandler(denyWindowOpen)
  win.webContents.on('will-navigate', (event, url) => {
    if (!allowNavigation(win.webContents.getURL(), url)) event.preventDefault()
  })
  win.webContents.on('will-attach-webview', (event) => event.preventDefault())
  void (devServerUrl ? win.loadURL(devServerUrl) : win.loadFile(rendererFile))
  return win
}

app.whenReady().then(
  () => {
    session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
      callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } })
    })
    // The renderer needs no camera, notifications or the like.
    session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false))

    const backend = createBackend({
      dataDir: app.getPath('userData'),
      // Training runs in this forked worker (built beside this bundle), never on the main process's loop.
      workerEntry: join(__dirname, 'trainWorker.js'),
      // Data-parallel training on wasm computes half of each batch in this worker thread.
      gradWorkerEntry: join(__dirname, 'gradWorker.js'),
      // Prediction (image decoding, onnxruntime or TF.js) runs in this forked worker, kept between calls.
      inferenceWorker: { entry: join(__dirname, 'inferenceWorker.js') },
      desktop: true,
      dialogs: { open: openDialog },
      appVersion: app.getVersion()
    })
    const unbindIpc = bindIpc(backend, isTrusted)
    const unhandleMedia = handleMediaProtocol(backend)
    // dispose() waits for a running import to stop; hold the quit until it has.
    let disposed = false
    app.on('before-quit', (event) => {
      if (disposed) return
      disposed = true
      event.preventDefault()
      unbindIpc()
      unhandleMedia()
      backend.dispose().finally(() => app.quit())
    })

    createWindow()
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) createWindow()
    })
  },
  (error: unknown) => {
    console.error('Transfer Studio failed to start:', error)
    app.exit(1)
  }
)

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit()
})
