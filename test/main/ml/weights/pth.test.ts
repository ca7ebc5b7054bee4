// The .pth reader against files written by PyTorch itself (scripts/make-pth-fixtures.py, run with Debian's
// python3-torch): both formats, views with offsets and strides, float16/float64/int64, a checkpoint dict, a
// real torchvision resnet18 state dict that then builds in TF.js, and hostile files (a pickle naming
// os.system, a truncated file, a storage larger than the file, a FIFO, a symlink to /dev/zero).
import { execFileSync, spawnSync } from 'node:child_process'
import {
  copyFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readPth, readPthStructure } from '../../../../src/main/ml/weights/pth'

const PYTHON = '/usr/bin/python3'
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { stdio: 'ignore' }).status === 0
// CI installs python3-torch (.ci/run): there a missing torch is a failure, not a skip.
if (process.env.CI && !hasTorch) throw new Error(`${PYTHON} has no torch/torchvision; .ci/run installs them`)

interface Expected {
  [name: string]: { shape: number[]; values: number[] }
}

describe.skipIf(!hasTorch)('readPth (files from PyTorch; skipped without /usr/bin/python3 torch)', () => {
  let dir: string
  let expected: Expected & { _resnet18: Record<string, { shape: number[]; sum: number; first: number[] }> }
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ts-pth-'))
    execFileSync(PYTHON, [resolve(__dirname, '../../../../scripts/make-pth-fixtures.py'), dir], {
      stdio: 'inherit'
    })
    expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'))
  }, 120_000)
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  const small = () => Object.entries(expected).filter(([k]) => k !== '_resnet18')

  for (const file of ['small-zip.pth', 'small-legacy.pth', 'checkpoint.pth']) {
    it(`reads every tensor of ${file} as PyTorch has it (views, float16/64, int64)`, async () => {
      const sd = await readPth(join(dir, file))
      const want = small()
      expect([...sd.keys()]).toEqual(want.map(([k]) => k))
      for (const [name, e] of want) {
        const t = sd.get(name)!
        expect(t.shape, name).toEqual(e.shape)
        expect(t.data.length, name).toBe(e.values.length)
        // float32 rounding of float64/float16 values; everything else exact.
        for (let i = 0; i < e.values.length; i++)
          expect(t.data[i], `${name}[${i}]`).toBeCloseTo(e.values[i], 5)
      }
      expect(sd.get('half')!.dtype).toBe('float16')
      expect(sd.get('bn.num_batches_tracked')!.dtype).toBe('int64')
      expect(Array.from(sd.get('bn.num_batches_tracked')!.data)).toEqual([17])
    })
  }

  for (const format of ['zip', 'legacy'] as const) {
    it(`reads a torchvision resnet18 state dict in the ${format} format, and it builds in TF.js`, async () => {
      const path = join(dir, `resnet18-${format}.pth`)
      const structure = await readPthStructure(path)
      expect(structure.format).toBe(format)
      expect(structure.tensors.size).toBe(Object.keys(expected._resnet18).length)
      expect(structure.tensors.get('fc.weight')).toEqual({ shape: [1000, 512], dtype: 'float32' })
      const sd = await readPth(path)
      for (const [name, e] of Object.entries(expected._resnet18)) {
        const t = sd.get(name)!
        expect(t.shape, name).toEqual(e.shape)
        let sum = 0
        for (const v of t.data) sum += v
        expect(Math.abs(sum - e.sum), name).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(e.sum)))
        e.first.forEach((v, i) => expect(t.data[i]).toBeCloseTo(v, 6))
      }
      const { torchvisionFromStateDict } = await import('../../../../src/main/ml/models/torchvision')
      const tv = torchvisionFromStateDict('resnet18', sd, { numClasses: 10, inputSize: 64 })
      try {
        // 11,689,512 ImageNet parameters, less the 1000-class head, plus a 10-class one.
        expect(tv.model.countParams()).toBe(11_689_512 - 513_000 + 5_130 + 9_600)
        expect(tv.headLoaded).toBe(false)
      } finally {
        tv.dispose()
      }
    }, 60_000)
  }

  it('refuses a pickle that names os.system, by name, and runs nothing', async () => {
    await expect(readPth(join(dir, 'evil-legacy.pth'))).rejects.toThrow(/'posix\.system'|'os\.system'/)
  })

  it('refuses a truncated file and a storage larger than the file, before reading tensor data', async () => {
    for (const format of ['zip', 'legacy']) {
      const cut = join(dir, `cut-${format}.pth`)
      copyFileSync(join(dir, `resnet18-${format}.pth`), cut)
      truncateSync(cut, Math.floor(statSync(cut).size * 0.6))
      await expect(readPthStructure(cut)).rejects.toThrow(/truncated|end record|past the end|ends/)
      await expect(readPth(cut)).rejects.toThrow()
    }
    // A legacy file whose first storage header declares more elements than the file holds.
    const big = join(dir, 'big-legacy.pth')
    const bytes = readFileSync(join(dir, 'small-legacy.pth'))
    const { format } = await readPthStructure(join(dir, 'small-legacy.pth'))
    expect(format).toBe('legacy')
    const patched = Buffer.from(bytes)
    const at = findFirstStorageHeader(patched)
    patched.writeBigUInt64LE(1n << 40n, at)
    writeFileSync(big, patched)
    await expect(readPthStructure(big)).rejects.toThrow(/declares \d+ bytes; truncated/)
  })

  it('refuses a FIFO and a symlink to /dev/zero without opening them for reading', async () => {
    const fifo = join(dir, 'fifo.pth')
    execFileSync('mkfifo', [fifo])
    await expect(readPth(fifo)).rejects.toThrow(/not a regular file/)
    const zero = join(dir, 'zero.pth')
    symlinkSync('/dev/zero', zero)
    await expect(readPthStructure(zero)).rejects.toThrow(/not a regular file/)
  })
})

/** Offset of the legacy format's first storage header: just after the fifth pickle's STOP. */
function findFirstStorageHeader(b: Buffer): number {
  // Five pickles, each starting with PROTO 2 (0x80 0x02); the fifth is the key list, which ends the pickles.
  let starts = 0
  for (let i = 0; i < b.length - 1; i++) {
    if (b[i] === 0x80 && b[i + 1] === 0x02 && (i === 0 || b[i - 1] === 0x2e)) {
      starts++
      if (starts === 5) {
        const stop = b.indexOf(0x2e, i + 2)
        return stop + 1
      }
    }
  }
  throw new Error('no legacy storage header found')
}
