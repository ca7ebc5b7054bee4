// The project's folder names, built in one module: beside the project file, and inside a run folder.
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  RUN_FILES,
  featureCacheRoot,
  runDir,
  runModelDir,
  runsRoot,
  thumbnailDir
} from '../../../src/main/project/paths'

describe('project paths', () => {
  it('puts thumbnails, runs and feature caches beside the project file', () => {
    expect(thumbnailDir('/data/signs.tsproj')).toBe('/data/signs.tsproj.thumbs')
    expect(runsRoot('/data/signs.tsproj')).toBe('/data/signs.tsproj.runs')
    expect(featureCacheRoot('/data/signs.tsproj')).toBe('/data/signs.tsproj.features')
    // A trailing separator never turns a sibling folder into a child one.
    expect(runsRoot('/data/signs/')).toBe('/data/signs.runs')
  })

  it('names a run folder and what it holds', () => {
    expect(runDir('/data/signs.tsproj', 7)).toBe(join('/data/signs.tsproj.runs', 'run-7'))
    expect(runModelDir('/r/run-7')).toBe(join('/r/run-7', 'model'))
    expect(RUN_FILES).toEqual({
      model: 'model',
      checkpoint: 'checkpoint',
      best: 'best',
      checkpointJson: 'checkpoint.json'
    })
  })
})
