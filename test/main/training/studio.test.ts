// The studio jobs' pure parts: the per-image cost model the estimate rests on (checked against AlexNet's
// published ~0.72 G multiply-adds), the work of a run per strategy, the export-folder checks, and the
// export preview's description of each file an export writes.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { modelCost } from '../../../src/main/ml/models/shapes'
import { runWork } from '../../../src/main/training/estimate'
import { describeExportFile, exportProblem } from '../../../src/main/training/exportPreview'
import { baseConfig, smallAlexConfig } from '../ml/train/trainerFixtures'
import { tempDir } from '../../helpers'

describe('estimate cost model', () => {
  it('counts the full AlexNet at about 0.7 G multiply-adds per image, most of it in the convs', async () => {
    const cost = await modelCost({ architecture: 'alexnet', width: 1, fcUnits: 4096 }, 227, 1000)
    // Krizhevsky et al.'s grouped AlexNet: ~0.72 G; SAME-padded conv1 (57x57 instead of 55x55) adds a little.
    expect(cost.forward).toBeGreaterThan(0.68e9)
    expect(cost.forward).toBeLessThan(0.8e9)
    // fc8 alone: 4096 x 1000.
    expect(cost.head).toBe(4096 * 1000)
    expect(cost.base + cost.head).toBe(cost.forward)
    const quarter = await modelCost({ architecture: 'alexnet', width: 0.25, fcUnits: 128 }, 67, 5)
    expect(quarter.forward).toBeLessThan(cost.forward / 100)
  })

  it('compact CNN cost grows with width and input size', async () => {
    const a = await modelCost({ architecture: 'compact', width: 0.25, fcUnits: 64 }, 32, 3)
    const b = await modelCost({ architecture: 'compact', width: 0.5, fcUnits: 64 }, 32, 3)
    const c = await modelCost({ architecture: 'compact', width: 0.25, fcUnits: 64 }, 64, 3)
    expect(b.forward).toBeGreaterThan(2 * a.forward)
    expect(c.forward).toBeGreaterThan(2 * a.forward)
  })

  it('run work scales with epochs and images; feature extraction trains only the head', async () => {
    const cfg = smallAlexConfig({ epochs: 2 })
    const cost = await modelCost(cfg.model, cfg.preprocessing.inputSize, 5)
    const w = runWork(cfg, cost, { train: 100, val: 20 })
    expect(runWork({ ...cfg, epochs: 4 }, cost, { train: 100, val: 20 })).toBeCloseTo(2 * w)
    expect(runWork(cfg, cost, { train: 200, val: 40 })).toBeCloseTo(2 * w)
    const fe = runWork({ ...cfg, strategy: 'feature-extraction' }, cost, { train: 100, val: 20 })
    expect(fe).toBeLessThan(w)
    // More epochs cost feature extraction little: the base runs once.
    expect(
      runWork({ ...cfg, strategy: 'feature-extraction', epochs: 20 }, cost, { train: 100, val: 20 })
    ).toBeLessThan(2 * fe)
    expect(runWork(baseConfig({ epochs: 1 }), cost, { train: 0, val: 0 })).toBe(0)
  })
})

describe('exportProblem', () => {
  it('accepts an empty or creatable folder and names what is wrong otherwise', async () => {
    const tmp = tempDir()
    try {
      const empty = join(tmp.dir, 'empty')
      mkdirSync(empty)
      expect(await exportProblem(empty)).toBeNull()
      expect(await exportProblem(join(tmp.dir, 'a', 'b', 'c'))).toBeNull()
      writeFileSync(join(empty, 'x.txt'), 'x')
      expect(await exportProblem(empty)).toMatch(/not empty/)
      const file = join(tmp.dir, 'file.txt')
      writeFileSync(file, 'x')
      expect(await exportProblem(file)).toMatch(/is a file/)
      expect(await exportProblem(join(file, 'sub', 'deeper'))).toMatch(/file\.txt is a file, so no folder/)
    } finally {
      tmp.remove()
    }
  })
})

describe('export preview descriptions', () => {
  it('describes each file the export writes as what it is (labels.json, not labels.txt)', () => {
    // The files of src/main/ml/export/folder.ts's export folder.
    const written = ['README.md', 'labels.json', 'metadata.json', 'model.json', 'model.onnx', 'weights.bin']
    const generic = describeExportFile('something-else')
    for (const name of written) expect(describeExportFile(name), name).not.toBe(generic)
    expect(describeExportFile('labels.json')).toMatch(/output index to class/i)
    expect(describeExportFile('labels.json')).not.toMatch(/per line/)
    expect(describeExportFile('metadata.json')).toMatch(/preprocessing/)
    expect(describeExportFile('labels.txt')).toBe(generic)
  })
})
