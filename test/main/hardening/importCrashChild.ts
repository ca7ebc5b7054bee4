// Child process of import.crash.test.ts: imports a folder in batches of 25 and prints the files done after
// each committed batch, so the test can kill it (SIGKILL) part-way. A TEMP trigger (this connection only; the
// file's schema is untouched) holds each inserted row for 2 ms, so a batch's transaction lasts about 50 ms and
// the kill usually lands inside one; the import itself is the real one on a real project file.
// Usage: node jiti-cli.mjs importCrashChild.ts <project> <folder>
import { createBackend } from '../../../src/main/backend'
import { transaction } from '../../../src/main/db/database'
import { runImport } from '../../../src/main/library/importer'

const [project, folder] = process.argv.slice(2)
const backend = createBackend({ dataDir: `${project}.data`, projectPath: project })
const { db, repo } = backend.services.projects.require()
const importId = transaction(db, () => repo.startImport(folder, 'folders', new Date().toISOString()))
const pause = new Int32Array(new SharedArrayBuffer(4))
db.function('pause', () => {
  Atomics.wait(pause, 0, 0, 2)
  return null
})
db.exec('CREATE TEMP TRIGGER slow_insert AFTER INSERT ON main.images BEGIN SELECT pause(); END')
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
    }
  }
).then((s) => console.log(`finished before the kill: ${s.status}`))
