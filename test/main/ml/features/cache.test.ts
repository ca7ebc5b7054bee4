import { createHash } from 'node:crypto'
import { openSync, readdirSync, statSync, truncateSync, writeSync, closeSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { tempDir } from '../../../helpers'
import { FeatureCache, featureCacheRoot } from '../../../../src/main/ml/features/cache'

const sha = (s: string): string => createHash('sha1').update(s).digest('hex')
const DIM = 64
const row = (seed: number): Float32Array =>
  Float32Array.from({ length: DIM }, (_, i) => Math.sin(seed * 31 + i) * 100)
const opts = { baseKey: 'bvlc-alexnet:abc123', prepKey: '227bgr-0123456789ab', dim: DIM }

describe('FeatureCache', () => {
  let tmp: { dir: string; remove: () => void }
  beforeEach(() => {
    tmp = tempDir()
  })
  afterEach(() => tmp.remove())

  it('round-trips rows, survives reopening, and getMany concatenates in request order', () => {
    const c = FeatureCache.open(tmp.dir, opts)
    const hashes = Array.from({ length: 10 }, (_, i) => sha(`img${i}`))
    const all = new Float32Array(10 * DIM)
    hashes.forEach((_, i) => all.set(row(i), i * DIM))
    c.putMany(hashes.slice(0, 9), all.subarray(0, 9 * DIM))
    c.put(hashes[9], row(9))
    expect(c.size).toBe(10)
    expect(Array.from(c.get(hashes[3]) as Float32Array)).toEqual(Array.from(row(3)))
    expect(c.get(sha('nope'))).toBeNull()
    c.close()
    expect(() => c.get(hashes[0])).toThrow(/closed/)

    const d = FeatureCache.open(tmp.dir, opts)
    expect(d.size).toBe(10)
    expect(d.has(hashes[7])).toBe(true)
    expect(d.has(hashes[7].toUpperCase())).toBe(true)
    const got = d.getMany([hashes[5], hashes[0], hashes[5]])
    expect(Array.from(got)).toEqual([...row(5), ...row(0), ...row(5)])
    expect(() => d.getMany([hashes[1], sha('absent')])).toThrow(/1 of 2 features are missing/)
    // Re-putting a hash replaces it (the later record wins), also after reopening.
    d.put(hashes[2], row(100))
    d.close()
    const e = FeatureCache.open(tmp.dir, opts)
    expect(Array.from(e.get(hashes[2]) as Float32Array)).toEqual(Array.from(row(100)))
    e.close()
    // Files live under <root>/<baseKey>/<prepKey>/ with unsafe characters replaced.
    const [base] = readdirSync(tmp.dir)
    expect(base).toMatch(/^bvlc-alexnet_abc123-[0-9a-f]{8}$/)
    expect(readdirSync(join(tmp.dir, base, opts.prepKey)).sort()).toEqual(['fc7.f32', 'fc7.idx'])
    expect(statSync(join(tmp.dir, base, opts.prepKey, 'fc7.f32')).size).toBe(11 * DIM * 4)
  })

  it('missing() after relabelling asks only for images it has never seen', () => {
    const c = FeatureCache.open(tmp.dir, opts)
    const first = Array.from({ length: 20 }, (_, i) => sha(`a${i}`))
    c.putMany(first, new Float32Array(20 * DIM).fill(1))
    c.close()
    // Relabelling changes labels, not file bytes: same hashes, plus 3 newly imported images.
    const d = FeatureCache.open(tmp.dir, opts)
    const fresh = [sha('new1'), sha('new2'), sha('new3')]
    const wanted = [...first.slice(5), fresh[0], ...first.slice(0, 5), fresh[1], fresh[1], fresh[2]]
    expect(d.missing(wanted)).toEqual(fresh)
    d.close()
  })

  it('keys, layers and dims are separate; a dim mismatch in one store is a clear error', () => {
    const a = FeatureCache.open(tmp.dir, opts)
    a.put(sha('x'), row(1))
    a.close()
    const other = FeatureCache.open(tmp.dir, { ...opts, prepKey: 'other' })
    expect(other.has(sha('x'))).toBe(false)
    other.close()
    const fc6 = FeatureCache.open(tmp.dir, { ...opts, layer: 'fc6' })
    expect(fc6.has(sha('x'))).toBe(false)
    fc6.close()
    expect(() => FeatureCache.open(tmp.dir, { ...opts, dim: 32 })).toThrow(/64 floats, asked for 32/)
    const c = FeatureCache.open(tmp.dir, opts)
    expect(() => c.put('not-a-hash', row(1))).toThrow(/40 hex/)
    expect(() => c.put(sha('y'), new Float32Array(3))).toThrow(/need 64 floats/)
    c.close()
  })

  it('tolerates a truncated data file, a partial index record and a torn row', () => {
    const c = FeatureCache.open(tmp.dir, opts)
    const hashes = Array.from({ length: 5 }, (_, i) => sha(`t${i}`))
    hashes.forEach((h, i) => c.put(h, row(i)))
    const dir = c.dir
    c.close()
    const data = join(dir, 'fc7.f32')
    const index = join(dir, 'fc7.idx')

    // Crash mid-row: the last row is cut in half -> its record points past the data and is ignored.
    truncateSync(data, 4.5 * DIM * 4)
    // Crash mid-record: a half record at the end of the index.
    const fd = openSync(index, 'r+')
    writeSync(fd, Buffer.alloc(13, 7), 0, 13, statSync(index).size)
    closeSync(fd)
    // A torn row (bytes changed after its CRC was recorded).
    const fd2 = openSync(data, 'r+')
    writeSync(fd2, Buffer.alloc(8, 0xff), 0, 8, 1 * DIM * 4 + 16)
    closeSync(fd2)

    const d = FeatureCache.open(tmp.dir, opts)
    // Row 4 is gone and row 1's CRC fails the tail check on open: both need recomputing, nothing else.
    expect(d.missing(hashes)).toEqual([hashes[1], hashes[4]])
    expect(d.get(hashes[1])).toBeNull()
    expect(Array.from(d.get(hashes[0]) as Float32Array)).toEqual(Array.from(row(0)))
    expect(Array.from(d.get(hashes[3]) as Float32Array)).toEqual(Array.from(row(3)))
    // Appending after the repair lands row-aligned and is readable after reopening.
    d.putMany([hashes[1], hashes[4]], Float32Array.from([...row(11), ...row(14)]))
    d.close()
    expect(statSync(data).size % (DIM * 4)).toBe(0)
    const e = FeatureCache.open(tmp.dir, opts)
    expect(e.missing(hashes)).toEqual([])
    expect(Array.from(e.getMany([hashes[1], hashes[4]]))).toEqual([...row(11), ...row(14)])
    e.close()
  })

  it('a dropped record does not come back to life when its row number is reused', () => {
    const c = FeatureCache.open(tmp.dir, opts)
    c.put(sha('a'), row(1))
    c.put(sha('b'), row(2))
    const data = join(c.dir, 'fc7.f32')
    c.close()
    truncateSync(data, DIM * 4) // b's row lost
    const d = FeatureCache.open(tmp.dir, opts)
    d.put(sha('c'), row(3)) // reuses row 1
    d.close()
    const e = FeatureCache.open(tmp.dir, opts)
    expect(e.has(sha('b'))).toBe(false)
    expect(e.missing([sha('a'), sha('b'), sha('c')])).toEqual([sha('b')])
    expect(Array.from(e.get(sha('c')) as Float32Array)).toEqual(Array.from(row(3)))
    e.close()
  })

  it('damage in the middle of a large file is caught by the CRC when read', () => {
    const c = FeatureCache.open(tmp.dir, opts)
    const hashes = Array.from({ length: 100 }, (_, i) => sha(`m${i}`))
    const all = new Float32Array(100 * DIM)
    hashes.forEach((_, i) => all.set(row(i), i * DIM))
    c.putMany(hashes, all)
    const data = join(c.dir, 'fc7.f32')
    c.close()
    const fd = openSync(data, 'r+')
    writeSync(fd, Buffer.alloc(4, 0x42), 0, 4, 2 * DIM * 4) // row 2, outside the tail checked on open
    closeSync(fd)
    const d = FeatureCache.open(tmp.dir, opts)
    expect(d.missing(hashes)).toEqual([]) // not read yet
    expect(() => d.getMany(hashes.slice(0, 5))).toThrow(/missing or damaged/)
    expect(d.missing(hashes)).toEqual([hashes[2]])
    expect(Array.from(d.getMany([hashes[99], hashes[0]]))).toEqual([...row(99), ...row(0)])
    d.close()
  })

  it('featureCacheRoot sits beside the project', () => {
    expect(featureCacheRoot('/data/signs.tsproj')).toBe('/data/signs.tsproj.features')
    expect(featureCacheRoot('/data/signs/')).toBe('/data/signs.features')
  })
})
