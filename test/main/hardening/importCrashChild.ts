// Child process of import.crash.test.ts: imports a folder in batches of 25 and prints the files done after
// each committed batch, so the test can kill it (SIGKILL) part-way. Each progress event holds the process for
// 20 ms (a slow listener), which stretches a few hundred files over about a second, long enough to land
// the kill mid-import every time; the import itself is the real one on a real project file.
// Usage: node jiti-cli.mjs importCrashChild.ts <project> <folder>
import { createBackend } from '../../../src/main/backend'
import { transaction } from '../../../src/main/db/database'
import { runImport } from '../../../src/main/library/importer'

const [project, folder] = process.argv.slice(2)
const backend = createBackend({ dataDir: `${project}.data`, projectPath: project })
const { db, repo } = backend.services.projects.require()
const importId = transaction(db, () => repo.startImport(folder, 'folders', new Date().toISOString()))
const pause = new Int32Array(new SharedArrayBuffer(4))
void runImport(
  db,
  repo,
  { folder, labels: 'folders' },
  {
    importId,
    batchSize: 25,
    concurrency: 2,
    progressIntervalMs: 0,
    onProgress: (e) => {
      if (e.phase !== 'importing') return
      process.stdout.write(`done ${e.done}\n`)
      Atomics.wait(pause, 0, 0, 20)
    }
  }
).then((s) => console.log(`finished before the kill: ${s.status}`))
