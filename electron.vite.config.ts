// Build config for the three Electron bundles (main, preload, renderer). The main bundle also carries the
// CLI entry and the training and inference workers, which run under plain Node with the same code.
import { resolve } from 'node:path'
import { defineConfig } from 'electron-vite'
import vue from '@vitejs/plugin-vue'

const shared = { '@shared': resolve(__dirname, 'src/shared') }

export default defineConfig({
  main: {
    resolve: { alias: shared },
    build: {
      rollupOptions: {
        input: {
          index: resolve(__dirname, 'src/main/index.ts'),
          cli: resolve(__dirname, 'src/main/cli/index.ts'),
          trainWorker: resolve(__dirname, 'src/main/ml/worker/trainWorker.ts'),
          inferenceWorker: resolve(__dirname, 'src/main/ml/worker/inferenceWorker.ts'),
          gradWorker: resolve(__dirname, 'src/main/ml/train/gradWorker.ts')
        }
      }
    }
  },
  preload: {
    resolve: { alias: shared },
    build: { rollupOptions: { input: { index: resolve(__dirname, 'src/preload/index.ts') } } }
  },
  renderer: {
    root: resolve(__dirname, 'src/renderer'),
    resolve: { alias: { ...shared, '@renderer': resolve(__dirname, 'src/renderer/src') } },
    plugins: [vue()],
    build: { rollupOptions: { input: { index: resolve(__dirname, 'src/renderer/index.html') } } }
  }
})
