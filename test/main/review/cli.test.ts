// `transfer-studio review --json` in process (runCli with captured streams) on a small real project: the
// output's shape as issue 16 specifies it, and option checking.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { runCli } from '../../../src/main/cli'
import { SHARED_DATA, sharedDataAvailable, tempDir } from '../../helpers'

function capture(): { write(text: string): void; isTTY: boolean; text: () => string } {
  let out = ''
  return { write: (t: string) => void (out += t), isTTY: false, text: () => out }
}

describe.skipIf(!sharedDataAvailable())('transfer-studio review', () => {
  let tmp: ReturnType<typeof tempDir>
  let project: string

  async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const stdout = capture()
    const stderr = capture()
    const code = await runCli(argv, { stdout, stderr, dataDir: join(tmp.dir, 'data') })
    return { code, stdout: stdout.text(), stderr: stderr.text() }
  }

  beforeEach(async () => {
    tmp = tempDir()
    const images = join(tmp.dir, 'signs')
    project = join(tmp.dir, 'Signs.tsproj')
    // The last 12 frames of a gtsrb-test track per class: the sign close up, adjacent frames near-identical.
    for (const cls of ['14', '33']) {
      mkdirSync(join(images, cls), { recursive: true })
      const source = join(SHARED_DATA, 'gtsrb-test', cls)
      for (const f of readdirSync(source).sort().slice(-12))
        copyFileSync(join(source, f), join(images, cls, f))
    }
    expect((await cli('import', images, '--project', project, '--json')).code).toBe(0)
    expect(
      (await cli('split', '--project', project, '--val', '0.25', '--test', '0', '--group-by', 'none')).code
    ).toBe(0)
  })
  afterEach(() => tmp.remove())

  it('prints label issues, near-duplicates with their splits, outliers and health as JSON', async () => {
    const r = await cli(
      'review',
      '--project',
      project,
      '--folds',
      '2',
      '--epochs',
      '1',
      '--threshold',
      '0.9',
      '--json'
    )
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout)
    expect(Object.keys(out).sort()).toEqual(
      [
        'cross_split_pairs',
        'failed',
        'health',
        'label_issues',
        'map_fallback',
        'map_method',
        'method',
        'near_duplicates',
        'outliers',
        'review_id',
        'seconds'
      ].sort()
    )
    expect(out.method).toMatchObject({
      engine: 'compact-cnn',
      folds: 2,
      epochs: 1,
      embedding: 'pixels',
      search: 'usearch'
    })
    for (const issue of out.label_issues) {
      expect(Object.keys(issue).sort()).toEqual(['image_id', 'label', 'path', 'score', 'suggested'])
      expect(['14', '33']).toContain(issue.label)
      expect(['14', '33']).toContain(issue.suggested)
      expect(issue.suggested).not.toBe(issue.label)
    }
    expect(out.near_duplicates.length).toBeGreaterThan(0)
    for (const p of out.near_duplicates) {
      expect(Object.keys(p).sort()).toEqual(['a', 'b', 'cross_split', 'similarity'])
      expect(Object.keys(p.a).sort()).toEqual(['image_id', 'path', 'split'])
      expect(p.cross_split).toBe(p.a.split !== p.b.split)
      expect(p.similarity).toBeGreaterThanOrEqual(0.9)
    }
    expect(out.cross_split_pairs).toBe(
      out.near_duplicates.filter((p: { cross_split: boolean }) => p.cross_split).length
    )
    expect(out.health.images).toBe(24)
    expect(out.health.perClass.map((c: { total: number }) => c.total)).toEqual([12, 12])
    expect(out.health.imbalanceRatio).toBe(1)
    // 24 images: enough for UMAP (16 and more), so no fallback.
    expect(out.map_method).toBe('umap')
    expect(out.map_fallback).toBeNull()
  }, 300_000)

  it('says when the map fell back to PCA, and why', async () => {
    // Under 16 images UMAP is not tried: 6 per class of the same two classes, in a project of their own.
    const few = join(tmp.dir, 'few')
    const small = join(tmp.dir, 'Few.tsproj')
    for (const cls of ['14', '33']) {
      mkdirSync(join(few, cls), { recursive: true })
      const source = join(SHARED_DATA, 'gtsrb-test', cls)
      for (const f of readdirSync(source).sort().slice(-6)) copyFileSync(join(source, f), join(few, cls, f))
    }
    expect((await cli('import', few, '--project', small, '--json')).code).toBe(0)
    const r = await cli('review', '--project', small, '--folds', '2', '--epochs', '1', '--json')
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout)
    expect(out.health.images).toBe(12)
    expect(out.map_method).toBe('pca')
    expect(out.map_fallback).toBe('few-images')
  }, 300_000)

  it('refuses bad options before opening the project', async () => {
    const r = await cli('review', '--project', project, '--folds', '1')
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/--folds/)
  })
})
