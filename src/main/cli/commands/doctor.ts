// `transfer-studio doctor`: which TF.js backend runs here and why, the cores training uses, whether
// onnxruntime loaded, and how to get a faster backend on this machine (src/main/ml/tfjs/doctor.ts).
import type { Command } from 'commander'
import { loadEngine, loadOnnxRuntime } from '../../ml'
import type { CliContext } from '../context'

export function register(program: Command, ctx: CliContext): void {
  program
    .command('doctor')
    .description('say which backend runs here and how to get a faster one')
    .option('--json', 'print one JSON object')
    .action(async (opts: { json?: boolean }) => {
      const { diagnose, gatherFacts } = await loadEngine()
      const d = diagnose(await gatherFacts(() => loadOnnxRuntime()))
      if (opts.json) {
        ctx.json({ ...d.facts, why: d.why, summary: d.summary, advice: d.advice })
        return
      }
      const f = d.facts
      ctx.print(
        d.summary,
        `  node ${f.node} (N-API ${f.napi}), ${f.platform}-${f.arch}${f.nvidiaGpu ? ', NVIDIA GPU visible' : ''}`,
        ...(d.advice.length
          ? [
              'To train faster here:',
              ...d.advice.flatMap((a) => [`  - ${a.message}`, ...(a.command ? [`      $ ${a.command}`] : [])])
            ]
          : ['Nothing to improve.'])
      )
    })
}
