import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { writeFileAtomic, writeFileAtomicSync } from '../../../src/main/project/atomicFile'
import { tempDir } from '../../helpers'

describe('atomic file writes', () => {
  let tmp: ReturnType<typeof tempDir>
  beforeEach(() => (tmp = tempDir('ts-atomic-')))
  afterEach(() => tmp.remove())

  it('replaces the file whole and leaves no temporary file', async () => {
    const file = join(tmp.dir, 'recent.json')
    writeFileSync(file, 'old')
    await writeFileAtomic(file, 'new')
    writeFileAtomicSync(join(tmp.dir, 'b.json'), '{}')
    expect(readFileSync(file, 'utf8')).toBe('new')
    expect(readdirSync(tmp.dir).sort()).toEqual(['b.json', 'recent.json'])
  })

  it('keeps the old file and removes the temporary one when the rename fails', async () => {
    // A folder in the file's place makes the rename fail after the temporary file was written.
    const target = join(tmp.dir, 'taken')
    mkdirSync(join(target, 'inside'), { recursive: true })
    await expect(writeFileAtomic(target, 'x')).rejects.toThrow()
    expect(() => writeFileAtomicSync(target, 'x')).toThrow()
    expect(readdirSync(tmp.dir)).toEqual(['taken'])
  })
})
