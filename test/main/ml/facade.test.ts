// The engine is reached through one facade (src/main/ml/index.ts), and that facade loads no TF.js: the main
// process imports it to check configs, bases and costs without paying for (or blocking on) TF.js.
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempDir } from '../../helpers'

const ROOT = resolve(__dirname, '../../..')
const MAIN = join(ROOT, 'src/main')

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) return sources(p)
    return p.endsWith('.ts') ? [p] : []
  })
}

describe('the engine facade', () => {
  it('is the only way into src/main/ml from the rest of the main process', () => {
    const offenders: string[] = []
    for (const file of sources(MAIN)) {
      if (file.startsWith(join(MAIN, 'ml') + '/')) continue
      const text = readFileSync(file, 'utf8')
      for (const m of text.matchAll(/(?:from |import\()'([^']+)'/g)) {
        const target = resolve(join(file, '..'), m[1])
        if (m[1].startsWith('.') && target.startsWith(join(MAIN, 'ml') + '/'))
          offenders.push(`${relative(ROOT, file)} -> ${m[1]}`)
      }
    }
    expect(offenders).toEqual([])
  })

  // tfjs-core puts its engine on the global object when it loads; the control proves the probe sees it.
  const tfLoadedAfter = (module: string): boolean => {
    const tmp = tempDir('ts-facade-')
    try {
      const script = join(tmp.dir, 'probe.ts')
      writeFileSync(
        script,
        `await import(${JSON.stringify(join(MAIN, module))})\n` +
          `process.stdout.write(String('_tfengine' in globalThis))\n`
      )
      const out = execFileSync(process.execPath, ['--import', 'jiti/register', script], {
        cwd: ROOT,
        encoding: 'utf8'
      })
      return out.trim().endsWith('true')
    } finally {
      tmp.remove()
    }
  }

  it('loads without TF.js, while the engine behind loadEngine() loads it', () => {
    expect(tfLoadedAfter('ml/index.ts')).toBe(false)
    expect(tfLoadedAfter('ml/engine.ts')).toBe(true)
  })
})
