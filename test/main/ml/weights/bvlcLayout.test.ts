// readBvlcLayout, the shapes-only read a base check uses: for every fixture (good, odd and malicious) it
// gives the layers and shapes a full read gives, or the same error; on a full-size file it reads a few KB,
// and it refuses what is not a regular file.
import { execFileSync } from 'node:child_process'
import { readdirSync, truncateSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  ALEXNET_BVLC_SHAPES,
  checkBvlcShapes,
  readBvlcLayout,
  readBvlcWeights
} from '../../../../src/main/ml/weights/bvlc'
import { tempDir } from '../../../helpers'
import { writeBvlcFile } from './bvlcWriter'

const FIXTURE_DIRS = [
  resolve(__dirname, '../../../fixtures/bvlc'),
  resolve(__dirname, '../../../fixtures/alexnet-bvlc')
]

type Outcome = { layers: Record<string, { W: number[]; b: number[] }> } | { error: string }

async function outcome(
  read: () => Promise<Record<string, { W: { shape: number[] }; b: { shape: number[] } }>>
): Promise<Outcome> {
  try {
    const w = await read()
    return {
      layers: Object.fromEntries(Object.entries(w).map(([n, l]) => [n, { W: l.W.shape, b: l.b.shape }]))
    }
  } catch (e) {
    return { error: (e as Error).message }
  }
}

describe('readBvlcLayout', () => {
  const tmp = tempDir()
  afterAll(() => tmp.remove())

  const files = FIXTURE_DIRS.flatMap((d) =>
    readdirSync(d)
      .filter((f) => f.endsWith('.npy'))
      .map((f) => join(d, f))
  )
  it.each(files)('agrees with the full read on %s', async (path) => {
    const full = await outcome(() => readBvlcWeights(path))
    expect(await outcome(() => readBvlcLayout(path))).toEqual(full)
  })

  it('agrees on truncated and garbled copies of a fixture', async () => {
    const src = join(FIXTURE_DIRS[1], 'reduced-alexnet.npy')
    for (const size of [0, 5, 60, 200, 400, 5000, 100_000]) {
      const p = join(tmp.dir, `cut-${size}.npy`)
      execFileSync('cp', [src, p])
      truncateSync(p, size)
      const full = await outcome(() => readBvlcWeights(p))
      expect('error' in full).toBe(true)
      expect(await outcome(() => readBvlcLayout(p)), `cut at ${size}`).toEqual(full)
    }
    const junk = join(tmp.dir, 'junk.npy')
    writeFileSync(junk, 'this is not numpy')
    expect(await outcome(() => readBvlcLayout(junk))).toEqual(await outcome(() => readBvlcWeights(junk)))
  })

  it('reads a full-size file by its structure and checks it like a full read', async () => {
    const big = join(tmp.dir, 'big.npy')
    writeBvlcFile(big)
    const layout = await readBvlcLayout(big)
    expect(checkBvlcShapes(layout, ALEXNET_BVLC_SHAPES)).toEqual({ warnings: [] })
    // One array cut short: the layout read sees the truncation without reading the floats.
    truncateSync(big, 200_000_000)
    await expect(readBvlcLayout(big)).rejects.toThrow(/truncated file/)
  })

  it('refuses a pickle whose structure alone is huge', async () => {
    const p = join(tmp.dir, 'marks.npy')
    const head = "{'descr': '|O', 'fortran_order': False, 'shape': (), }".padEnd(117, ' ') + '\n'
    const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, head.length, 0])
    // PROTO 2, then 17 MB of MARK opcodes: nothing to skip, all structure.
    writeFileSync(
      p,
      Buffer.concat([pre, Buffer.from(head), Buffer.from([0x80, 2]), Buffer.alloc(17 << 20, 0x28)])
    )
    await expect(readBvlcLayout(p)).rejects.toThrow(/structure .* passes 16777216 bytes/)
  })

  it('refuses a folder and a FIFO without blocking on it', async () => {
    await expect(readBvlcLayout(tmp.dir)).rejects.toThrow(/not a regular file|EISDIR/)
    const fifo = join(tmp.dir, 'fifo.npy')
    execFileSync('mkfifo', [fifo])
    await expect(readBvlcLayout(fifo)).rejects.toThrow(/not a regular file/)
  })
})
