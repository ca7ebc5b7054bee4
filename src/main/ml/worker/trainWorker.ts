// Entry of the training child process (`child_process.fork` of the built out/main/trainWorker.js). It runs
// one job at a time from the parent and streams its events back, so a long training never blocks the
// Electron main process. Protocol (all plain JSON):
//   parent -> child  { type: 'run', job }   { type: 'cancel' }
//   child -> parent  { type: 'ready' }  { type: 'event', event }  { type: 'done', result }  { type: 'error', error }
import { runJob, type Job, type JobResult } from './jobs'
import { codeOf } from '../../errors'
import type { TrainingProgress } from '../../../shared/training'

export type ParentMessage = { type: 'run'; job: Job } | { type: 'cancel' }
export type ChildMessage =
  | { type: 'ready' }
  | { type: 'event'; event: TrainingProgress }
  | { type: 'done'; result: JobResult }
  | { type: 'error'; error: { name: string; message: string; messageKey?: string; messageParams?: object } }

function send(msg: ChildMessage): void {
  process.send?.(msg)
}

if (process.send) {
  let controller: AbortController | null = null
  process.on('message', (msg: ParentMessage) => {
    if (msg.type === 'cancel') {
      controller?.abort()
      return
    }
    if (msg.type !== 'run') return
    if (controller) {
      send({ type: 'error', error: { name: 'Busy', message: 'the worker is already running a job' } })
      return
    }
    controller = new AbortController()
    runJob(msg.job, (event) => send({ type: 'event', event }), controller.signal)
      .then((result) => send({ type: 'done', result }))
      .catch((err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err))
        // A coded message keeps its key across the process boundary, so the UI words it in its language.
        const coded = codeOf(e)
        send({
          type: 'error',
          error: {
            name: e.name,
            message: e.message,
            ...(coded ? { messageKey: coded.code, messageParams: coded.params } : {})
          }
        })
      })
      .finally(() => {
        controller = null
      })
  })
  // The parent going away (app quit, crash) ends the worker instead of leaving it training.
  process.on('disconnect', () => process.exit(0))
  send({ type: 'ready' })
}
