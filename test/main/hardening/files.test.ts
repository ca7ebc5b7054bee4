// Issue 13, "Files read without limit" and "A model folder can read outside itself": every entry point that
// reads a model folder, a weights file or an image refuses what is not a regular file (a real FIFO, a real
// symlink to /dev/zero), checks sizes against what the header or manifest declares before reading, keeps
// weights paths inside the model folder, never echoes file contents, and bounds the pixels the media view
// decodes. Each refusal is timed: none may hang or read much.
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { deflateSync } from 'node:zlib'
import * as tf from '@tensorflow/tfjs'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../../helpers'
import type { ModelMetadata } from '../../../src/shared/training'
import { defaultPreprocessing } from '../../../src/main/ml/data/preprocess'
import { saveModel } from '../../../src/main/ml/tfjs/ioHandlers'
import { loadClassifier } from '../../../src/main/ml/evaluate/classifier'
import { readNpyFile, withRegularFile, readNpyStructure } from '../../../src/main/ml/weights/npy'
import { BaseCheckService } from '../../../src/main/training/baseCheck'
import type { TrainingService } from '../../../src/main/training/trainingService'
import { MediaService } from '../../../src/main/library/mediaService'
import type { ProjectService } from '../../../src/main/project/projectService'

const quiet = { prefer: 'tfjs' as const, logger: () => {} }

/** Runs `fn`, failing (instead of hanging the suite) after `ms`; returns its rejection and the time taken. */
async function refusal(fn: () => Promise<unknown>, ms = 5000): Promise<{ error: Error; ms: number }> {
  const t0 = performance.now()
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms (it hung)`)), ms)
  })
  try {
    await Promise.race([fn(), timeout])
  } catch (error) {
    if ((error as Error).message.startsWith('timed out after')) throw error
    return { error: error as Error, ms: performance.now() - t0 }
  } finally {
    clearTimeout(timer)
  }
  throw new Error('expected a refusal, but it succeeded')
}

function npy(header: string, data: Uint8Array): Buffer {
  const base = 10 + header.length + 1
  const pad = (64 - (base % 64)) % 64
  const text = header + ' '.repeat(pad) + '\n'
  const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, text.length & 0xff, text.length >> 8])
  return Buffer.concat([pre, Buffer.from(text, 'latin1'), Buffer.from(data)])
}

describe('model folders through loadClassifier', () => {
  let tmp: { dir: string; remove: () => void }
  let good: string
  let binSize: number
  const prep = defaultPreprocessing('compact', { inputSize: 4 })

  /** A copy of the good export folder, for one test to damage. */
  function copy(name: string): string {
    const dir = join(tmp.dir, name)
    mkdirSync(dir)
    for (const f of ['model.json', 'weights.bin', 'metadata.json']) {
      writeFileSync(join(dir, f), readFileSync(join(good, f)))
    }
    return dir
  }
  function setPaths(dir: string, paths: string[]): void {
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'))
    json.weightsManifest[0].paths = paths
    writeFileSync(join(dir, 'model.json'), JSON.stringify(json))
  }

  beforeAll(async () => {
    await tf.setBackend('cpu')
    tmp = tempDir('ts-h13-model-')
    good = join(tmp.dir, 'good')
    const model = tf.sequential({
      layers: [
        tf.layers.flatten({ inputShape: [4, 4, 3] }),
        tf.layers.dense({ units: 2, activation: 'softmax' })
      ]
    })
    await saveModel(model, good)
    model.dispose()
    const meta: ModelMetadata = {
      format: 'transfer-studio-model',
      formatVersion: 1,
      appVersion: 'test',
      createdAt: new Date(0).toISOString(),
      strategy: 'custom',
      base: { kind: 'none' },
      model: { architecture: 'compact' },
      preprocessing: prep,
      labels: [
        { index: 0, classId: 1, key: '1', name: 'a' },
        { index: 1, classId: 2, key: '2', name: 'b' }
      ],
      metrics: { valAccuracy: null, testAccuracy: null },
      backend: 'cpu'
    }
    writeFileSync(join(good, 'metadata.json'), JSON.stringify(meta))
    binSize = statSync(join(good, 'weights.bin')).size
    writeFileSync(join(tmp.dir, 'secret.bin'), Buffer.alloc(binSize, 7))
  })
  afterAll(() => tmp.remove())

  it('loads the intact folder (the fixture is sound)', async () => {
    const { classifier } = await loadClassifier(good, quiet)
    expect(classifier.numClasses).toBe(2)
    await classifier.dispose()
  })

  it('refuses weights.bin as a symlink to /dev/zero quickly, without growing the process', async () => {
    const dir = copy('zero')
    execFileSync('rm', [join(dir, 'weights.bin')])
    symlinkSync('/dev/zero', join(dir, 'weights.bin'))
    const rss0 = process.memoryUsage().rss
    const { error, ms } = await refusal(() => loadClassifier(dir, quiet))
    const grew = (process.memoryUsage().rss - rss0) / 2 ** 20
    // /dev/zero is outside the folder, so containment refuses it first (a device inside would be refused too).
    expect(error.message).toMatch(/"\.\/weights\.bin" points outside the folder .*symbolic link/)
    expect(ms).toBeLessThan(2000)
    expect(grew).toBeLessThan(100)
    console.log(`/dev/zero weights refused in ${ms.toFixed(0)} ms, RSS +${grew.toFixed(1)} MB`)
  })

  it('refuses weights.bin and metadata.json as FIFOs without hanging', async () => {
    const dir = copy('fifo')
    execFileSync('rm', [join(dir, 'weights.bin')])
    execFileSync('mkfifo', [join(dir, 'weights.bin')])
    expect((await refusal(() => loadClassifier(dir, quiet))).error.message).toMatch(
      /weights\.bin is not a regular file \(a FIFO\)/
    )
    const meta = copy('fifo-meta')
    execFileSync('rm', [join(meta, 'metadata.json')])
    execFileSync('mkfifo', [join(meta, 'metadata.json')])
    expect((await refusal(() => loadClassifier(meta, quiet))).error.message).toMatch(
      /metadata\.json is not a regular file \(a FIFO\)/
    )
  })

  it('refuses metadata.json as a symlink to /dev/zero', async () => {
    const dir = copy('zero-meta')
    execFileSync('rm', [join(dir, 'metadata.json')])
    symlinkSync('/dev/zero', join(dir, 'metadata.json'))
    expect((await refusal(() => loadClassifier(dir, quiet))).error.message).toMatch(
      /metadata\.json is not a regular file \(a device\)/
    )
  })

  it('refuses weights paths that climb out, are absolute, or are symlinks leading out', async () => {
    const up = copy('up')
    setPaths(up, ['../secret.bin'])
    expect((await refusal(() => loadClassifier(up, quiet))).error.message).toMatch(
      /"\.\.\/secret\.bin" points outside the folder .*climbs out/
    )
    const abs = copy('abs')
    setPaths(abs, [join(tmp.dir, 'secret.bin')])
    expect((await refusal(() => loadClassifier(abs, quiet))).error.message).toMatch(
      /points outside the folder .*absolute path/
    )
    const link = copy('link')
    execFileSync('rm', [join(link, 'weights.bin')])
    symlinkSync(join(tmp.dir, 'secret.bin'), join(link, 'weights.bin'))
    expect((await refusal(() => loadClassifier(link, quiet))).error.message).toMatch(
      /"\.\/weights\.bin" points outside the folder .*symbolic link/
    )
  })

  it('refuses weights files that hold fewer or more bytes than the manifest declares', async () => {
    const short = copy('short')
    truncateSync(join(short, 'weights.bin'), binSize - 4)
    expect((await refusal(() => loadClassifier(short, quiet))).error.message).toMatch(
      new RegExp(`declares ${binSize} bytes of weights .* the files hold ${binSize - 4} bytes`)
    )
    const long = copy('long')
    writeFileSync(
      join(long, 'weights.bin'),
      Buffer.concat([readFileSync(join(good, 'weights.bin')), Buffer.alloc(8)])
    )
    expect((await refusal(() => loadClassifier(long, quiet))).error.message).toMatch(
      new RegExp(`declares ${binSize} bytes of weights .* the files hold ${binSize + 8} bytes`)
    )
  })
})

describe('NPY files', () => {
  let tmp: { dir: string; remove: () => void }
  beforeAll(() => {
    tmp = tempDir('ts-h13-npy-')
  })
  afterAll(() => tmp.remove())

  const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"

  it('reads an exact file, and refuses a header that declares more or less than the file holds', async () => {
    const ok = join(tmp.dir, 'ok.npy')
    writeFileSync(ok, npy(header, new Uint8Array(24)))
    expect((await readNpyFile(ok)).header.shape).toEqual([2, 3])
    const more = join(tmp.dir, 'more.npy')
    writeFileSync(more, npy(header, new Uint8Array(20)))
    expect((await refusal(() => readNpyFile(more))).error.message).toMatch(
      /truncated file: .* needs 24 bytes/
    )
    const less = join(tmp.dir, 'less.npy')
    writeFileSync(less, npy(header, new Uint8Array(24 + 4096)))
    expect((await refusal(() => readNpyFile(less))).error.message).toMatch(
      /declares an array \(2, 3\) <f4 of 24 bytes, but the file holds 4120 bytes/
    )
    expect((await refusal(() => withRegularFile(less, readNpyStructure))).error.message).toMatch(/declares/)
  })

  it('refuses a FIFO and a symlink to /dev/zero before reading', async () => {
    const fifo = join(tmp.dir, 'pipe.npy')
    execFileSync('mkfifo', [fifo])
    expect((await refusal(() => readNpyFile(fifo))).error.message).toMatch(/not a regular file \(a FIFO\)/)
    const zero = join(tmp.dir, 'zero.npy')
    symlinkSync('/dev/zero', zero)
    expect((await refusal(() => readNpyFile(zero))).error.message).toMatch(/not a regular file \(a device\)/)
  })
})

describe('training:validateBase (BaseCheckService)', () => {
  let tmp: { dir: string; remove: () => void }
  let passwd: string
  const service = new BaseCheckService({} as TrainingService)
  beforeAll(() => {
    tmp = tempDir('ts-h13-base-')
    passwd = join(tmp.dir, 'passwd')
    writeFileSync(
      passwd,
      'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n'
    )
  })
  afterAll(() => tmp.remove())

  it('never echoes the bytes of a file it is pointed at', async () => {
    const folder = join(tmp.dir, 'folder')
    mkdirSync(folder)
    writeFileSync(join(folder, 'model.json'), readFileSync(passwd))
    const checks = await Promise.all([
      service.validateBase({ kind: 'bvlc-npy', path: passwd }),
      service.validateBase({ kind: 'torchvision-pth', path: passwd, architecture: 'resnet18' }),
      service.validateBase({ kind: 'onnx', path: passwd }),
      service.validateBase({ kind: 'studio-model', path: folder })
    ])
    for (const check of checks) {
      expect(check.ok).toBe(false)
      expect(check.message).not.toMatch(/root|daemon|x:0|bash|nologin/)
    }
    expect(checks[0].message).toMatch(/does not start with the NPY magic .*plain text/)
    expect(checks[3].message).toMatch(/is not valid JSON/)
  })

  it('refuses a FIFO and a symlink to /dev/zero without hanging or reading', async () => {
    const fifo = join(tmp.dir, 'pipe.npy')
    execFileSync('mkfifo', [fifo])
    const zero = join(tmp.dir, 'zero.npy')
    symlinkSync('/dev/zero', zero)
    const rss0 = process.memoryUsage().rss
    const t0 = performance.now()
    const [a, b] = await Promise.all([
      service.validateBase({ kind: 'bvlc-npy', path: fifo }),
      service.validateBase({ kind: 'bvlc-npy', path: zero })
    ])
    const ms = performance.now() - t0
    expect(a.message).toMatch(/not a regular file \(a FIFO\)/)
    expect(b.message).toMatch(/not a regular file \(a device\)/)
    expect(ms).toBeLessThan(2000)
    expect((process.memoryUsage().rss - rss0) / 2 ** 20).toBeLessThan(100)
    const folder = join(tmp.dir, 'zero-model')
    mkdirSync(folder)
    symlinkSync('/dev/zero', join(folder, 'model.json'))
    expect((await service.validateBase({ kind: 'studio-model', path: folder })).message).toMatch(
      /model\.json is not a regular file \(a device\)/
    )
  })
})

/** The PNG signature, an IHDR for `width` x `height` RGB, a tiny IDAT and IEND (CRCs correct). */
function bigPngHeader(width: number, height: number): Buffer {
  const table = Array.from({ length: 256 }, (_, n) => {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    return c >>> 0
  })
  const crc = (b: Buffer): number => {
    let c = 0xffffffff
    for (const x of b) c = table[(c ^ x) & 0xff] ^ (c >>> 8)
    return (c ^ 0xffffffff) >>> 0
  }
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
    const out = Buffer.alloc(body.length + 8)
    out.writeUInt32BE(data.length, 0)
    body.copy(out, 4)
    out.writeUInt32BE(crc(body), body.length + 4)
    return out
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 2 // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(1 + width * 3))),
    chunk('IEND', Buffer.alloc(0))
  ])
}

describe('media service: full-size view', () => {
  let tmp: { dir: string; remove: () => void }
  const paths = new Map<number, string>()
  let media: MediaService
  beforeAll(() => {
    tmp = tempDir('ts-h13-media-')
    const projects = {
      require: () => ({
        repo: {
          imageSource: (id: number) => (paths.has(id) ? { path: paths.get(id)!, hash: `h${id}` } : null)
        },
        info: { thumbnailDir: join(tmp.dir, '.thumbs') }
      })
    } as unknown as ProjectService
    media = new MediaService(projects)
  })
  afterAll(() => tmp.remove())

  it('refuses a 16000 x 16000 PNG from its header, without decoding it', async () => {
    const file = join(tmp.dir, 'huge.png')
    writeFileSync(file, bigPngHeader(16000, 16000))
    paths.set(1, file)
    const rss0 = process.memoryUsage().rss
    const { error, ms } = await refusal(() => media.get('full', 1))
    const grew = (process.memoryUsage().rss - rss0) / 2 ** 20
    expect(error.message).toMatch(/16000 x 16000 pixels \(256 megapixels\), more than the 64 megapixels/)
    expect(ms).toBeLessThan(1000)
    expect(grew).toBeLessThan(100)
    console.log(`16000x16000 PNG refused in ${ms.toFixed(0)} ms, RSS +${grew.toFixed(1)} MB`)
    await expect(media.get('thumb', 1)).rejects.toThrow(/megapixels/)
  })

  it('serves a wide image as a preview whose longer side is at most 4096 px', async () => {
    const file = join(tmp.dir, 'wide.png')
    await sharp({ create: { width: 6000, height: 300, channels: 3, background: { r: 9, g: 99, b: 199 } } })
      .png()
      .toFile(file)
    paths.set(2, file)
    const { data } = await media.get('full', 2)
    const info = await sharp(data).metadata()
    expect([info.width, info.height]).toEqual([4096, 205])
  })

  it('refuses an image that is a FIFO without hanging', async () => {
    const fifo = join(tmp.dir, 'pipe.png')
    execFileSync('mkfifo', [fifo])
    paths.set(3, fifo)
    expect((await refusal(() => media.get('full', 3))).error.message).toMatch(/not a regular file \(a FIFO\)/)
  })
})
