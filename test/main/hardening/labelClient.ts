// A second process on one project file, for the concurrency tests: it opens the project with its own backend
// (its own SQLite connection) and labels, undoes or redoes on the parent's command over the IPC channel.
// Usage: fork(labelClient.ts, [project, dataDir], { execArgv: ['--import', 'jiti/register'] })
import { createBackend } from '../../../src/main/backend'

/** What the parent asks for; each request gets exactly one reply. */
export type ClientRequest =
  /** One setLabel call per item, as fast as the loop goes. */
  | { type: 'label'; items: [imageId: number, classId: number | null][] }
  /** One setLabel call on several images: one undo step. */
  | { type: 'setLabel'; ids: number[]; classId: number | null }
  | { type: 'undo' }
  | { type: 'redo' }
  | { type: 'exit' }

export type ClientReply =
  | { type: 'ready' }
  | { type: 'labelled'; attempted: number; failed: number; errors: string[]; ms: number }
  | { type: 'set' | 'undone' | 'redone'; changed: number; skipped?: number }
  | { type: 'error'; message: string }

const [project, dataDir] = process.argv.slice(2)
const backend = createBackend({ dataDir, projectPath: project })
const library = backend.services.library
const reply = (r: ClientReply): void => void process.send?.(r)

process.on('message', (req: ClientRequest) => {
  try {
    if (req.type === 'label') {
      const started = Date.now()
      let failed = 0
      const errors: string[] = []
      // One call per image, as fast as the loop goes: the worst case for lock contention.
      for (const [id, classId] of req.items) {
        try {
          library.setLabel([id], classId)
        } catch (err) {
          failed++
          if (errors.length < 5) errors.push(String(err))
        }
      }
      reply({ type: 'labelled', attempted: req.items.length, failed, errors, ms: Date.now() - started })
    } else if (req.type === 'setLabel') {
      reply({ type: 'set', changed: library.setLabel(req.ids, req.classId).changed })
    } else if (req.type === 'undo' || req.type === 'redo') {
      const r = req.type === 'undo' ? library.undo() : library.redo()
      reply({ type: req.type === 'undo' ? 'undone' : 'redone', changed: r.changed, skipped: r.skipped })
    } else {
      void backend.dispose().then(() => process.exit(0))
    }
  } catch (err) {
    reply({ type: 'error', message: String(err) })
  }
})
reply({ type: 'ready' })
