// The .pth reader (src/main/ml/weights/pth.ts) against files that PyTorch itself wrote
// (scripts/make-pth-fixtures.py, run with Debian's /usr/bin/python3 and its python3-torch 1.13): both formats,
// views with offsets and strides, float16/bfloat16/float64/int64, checkpoints, a torchvision resnet18 that
// then builds in TF.js, and hostile files (pickles naming os.system and eval, a whole pickled module, cut and
// patched files). Those are skipped on a machine whose /usr/bin/python3 has no torch, but fail under CI.
// A second block needs no PyTorch: hand-built pickles and archives (ZIP64 included), FIFOs, devices.
import { execFile, execFileSync, spawnSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync
} from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PthError, readPth, readPthStructure, type PthErrorCode } from '../../../../src/main/ml/weights/pth'
import { tempDir } from '../../../helpers'

const PYTHON = '/usr/bin/python3'
const SCRIPT = resolve(__dirname, '../../../../scripts/make-pth-fixtures.py')
const hasTorch =
  spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { stdio: 'ignore', timeout: 60_000 }).status === 0
if (!hasTorch && process.env.CI && process.env.CI !== 'false') {
  throw new Error(
    `${PYTHON} cannot import torch and torchvision; CI needs them for the .pth reader's tests ` +
      '(apt-get install python3-torch python3-torchvision)'
  )
}

/** The PthError code a promise rejects with (and that it is a PthError at all). */
async function codeOf(p: Promise<unknown>): Promise<PthErrorCode> {
  const err = await p.then(
    () => null,
    (e: unknown) => e
  )
  expect(err).toBeInstanceOf(PthError)
  return (err as PthError).code
}

interface SmallEntry {
  name: string
  shape: number[]
  dtype: string
  /** float64 for float dtypes, decimal strings for integer ones. */
  values: (number | string)[]
}
interface ResnetEntry {
  name: string
  shape: number[]
  dtype: string
  sum: number
  first: (number | string)[]
}
interface Expected {
  small: SmallEntry[]
  smallBytes: number
  resnet18: ResnetEntry[]
  resnet18Bytes: number
  resnet18Params: number
  smallLegacyFirstStorage: number
}

/** float32 values PyTorch wrote as float64 in the JSON: exact for float32/16/bfloat16, rounded for float64. */
const asF32 = (v: number): number => Math.fround(v)

describe.skipIf(!hasTorch)(
  hasTorch
    ? 'readPth on files written by PyTorch'
    : `readPth on files written by PyTorch (SKIPPED: ${PYTHON} cannot import torch and torchvision; ` +
        'apt-get install python3-torch python3-torchvision)',
  () => {
    let tmp: { dir: string; remove: () => void }
    let dir: string
    let expected: Expected
    const file = (name: string): string => join(dir, name)

    beforeAll(async () => {
      tmp = tempDir('ts-pth-')
      dir = tmp.dir
      // Run from the folder, so a pickle that did run `echo pwned > pwned.txt` would leave it there.
      await promisify(execFile)(PYTHON, [SCRIPT, dir], { timeout: 120_000, cwd: dir })
      expected = JSON.parse(readFileSync(file('expected.json'), 'utf8')) as Expected
    }, 150_000)
    afterAll(() => tmp?.remove())

    for (const name of ['small-zip', 'small-legacy', 'checkpoint-state_dict', 'checkpoint-model']) {
      it(`${name}.pth: every tensor as PyTorch has it (views, shared storage, float16/bfloat16/float64, int64)`, async () => {
        const sd = await readPth(file(`${name}.pth`))
        expect([...sd.keys()]).toEqual(expected.small.map((e) => e.name))
        for (const e of expected.small) {
          const t = sd.get(e.name)!
          expect(t.shape, e.name).toEqual(e.shape)
          expect(t.dtype, e.name).toBe(e.dtype)
          expect(t.data).toBeInstanceOf(Float32Array)
          if (e.dtype.startsWith('int')) {
            expect(Array.from(t.int64!), e.name).toEqual(e.values.map((v) => BigInt(v)))
            expect(Array.from(t.data), e.name).toEqual(e.values.map((v) => asF32(Number(v))))
          } else {
            expect(t.int64, e.name).toBeUndefined()
            expect(Array.from(t.data), e.name).toEqual(e.values.map((v) => asF32(v as number)))
          }
        }
        expect(Array.from(sd.get('bn.num_batches_tracked')!.int64!)).toEqual([17n])
        expect(sd.get('bn.num_batches_tracked')!.shape).toEqual([])
      })
    }

    it('readPthStructure gives names, shapes, dtypes and the storage bytes of both formats', async () => {
      for (const format of ['zip', 'legacy'] as const) {
        const s = await readPthStructure(file(`small-${format}.pth`))
        expect(s.format).toBe(format)
        expect([...s.tensors]).toEqual(
          expected.small.map((e) => [e.name, { shape: e.shape, dtype: e.dtype }])
        )
        expect(s.dataBytes).toBe(expected.smallBytes)
      }
    })

    for (const format of ['zip', 'legacy'] as const) {
      it(`a torchvision resnet18 state dict in the ${format} format, and it builds in TF.js`, async () => {
        const path = file(`resnet18-${format}.pth`)
        const structure = await readPthStructure(path)
        expect(structure.format).toBe(format)
        expect(structure.tensors.size).toBe(expected.resnet18.length)
        expect(structure.tensors.get('fc.weight')).toEqual({ shape: [1000, 512], dtype: 'float32' })
        expect(structure.dataBytes).toBe(expected.resnet18Bytes)
        const sd = await readPth(path)
        expect([...sd.keys()]).toEqual(expected.resnet18.map((e) => e.name))
        for (const e of expected.resnet18) {
          const t = sd.get(e.name)!
          expect(t.shape, e.name).toEqual(e.shape)
          expect(t.dtype, e.name).toBe(e.dtype)
          if (e.dtype === 'int64') {
            expect(Array.from(t.int64!), e.name).toEqual(e.first.map((v) => BigInt(v)))
            continue
          }
          expect(Array.from(t.data.subarray(0, e.first.length)), e.name).toEqual(
            e.first.map((v) => asF32(v as number))
          )
          let sum = 0
          for (const v of t.data) sum += v
          expect(Math.abs(sum - e.sum), e.name).toBeLessThanOrEqual(
            1e-9 * (1 + Math.abs(e.sum)) * t.data.length
          )
        }
        expect(Array.from(sd.get('bn1.num_batches_tracked')!.int64!)).toEqual([1234n])

        const { torchvisionFromStateDict } = await import('../../../../src/main/ml/models/torchvision')
        // The zip one with its 1000-class head loaded, the legacy one with a new 10-class head.
        const numClasses = format === 'zip' ? 1000 : 10
        const tv = torchvisionFromStateDict('resnet18', sd, { numClasses, inputSize: 64, softmax: false })
        try {
          expect(tv.headLoaded).toBe(format === 'zip')
          // torchvision's 11,689,512 parameters, plus the batch norms' running mean and variance (which
          // Keras counts as non-trainable weights), less the 1000-class head and plus a 10-class one.
          expect(expected.resnet18Params).toBe(11_689_512)
          const stats = expected.resnet18
            .filter((e) => /running_(mean|var)$/.test(e.name))
            .reduce((n, e) => n + e.shape[0], 0)
          const head = format === 'zip' ? 0 : -(512 * 1000 + 1000) + (512 * 10 + 10)
          expect(tv.model.countParams()).toBe(expected.resnet18Params + stats + head)
        } finally {
          tv.dispose()
        }
      }, 60_000)
    }

    it('refuses pickles that name os.system or eval, by name, and runs nothing', async () => {
      const zip = readPth(file('evil-zip.pth'))
      await expect(zip).rejects.toThrow(/global 'posix\.system'/)
      expect(await codeOf(zip)).toBe('refused')
      const legacy = readPthStructure(file('evil-legacy.pth'))
      await expect(legacy).rejects.toThrow(/global '(__builtin__|builtins)\.eval'/)
      expect(await codeOf(legacy)).toBe('refused')
      expect(existsSync(file('pwned.txt'))).toBe(false)
      expect(existsSync('pwned.txt')).toBe(false)
    })

    it('refuses a whole pickled nn.Module, saying to save its state_dict()', async () => {
      const p = readPth(file('module-zip.pth'))
      await expect(p).rejects.toThrow(/'torch\.nn\.modules\.linear\.Linear'.*state_dict\(\)/)
      expect(await codeOf(p)).toBe('refused')
    })

    it('refuses truncated files before reading tensor data, in both formats', async () => {
      for (const format of ['zip', 'legacy']) {
        const cut = file(`cut-${format}.pth`)
        writeFileSync(cut, readFileSync(file(`resnet18-${format}.pth`)))
        truncateSync(cut, Math.floor(statSync(cut).size * 0.6))
        expect(await codeOf(readPthStructure(cut)), format).toBe('truncated')
        expect(await codeOf(readPth(cut)), format).toBe('truncated')
      }
      // Cut inside the legacy format's pickles.
      const pickles = file('cut-pickles.pth')
      writeFileSync(pickles, readFileSync(file('small-legacy.pth')).subarray(0, 200))
      await expect(readPth(pickles)).rejects.toThrow(/truncated/)
      expect(await codeOf(readPth(pickles))).toBe('truncated')
    })

    it('refuses a storage that declares more bytes than the file holds (legacy header, ZIP entry)', async () => {
      const legacy = Buffer.from(readFileSync(file('small-legacy.pth')))
      legacy.writeBigUInt64LE(1n << 40n, expected.smallLegacyFirstStorage)
      writeFileSync(file('big-legacy.pth'), legacy)
      await expect(readPthStructure(file('big-legacy.pth'))).rejects.toThrow(/declares \d+ bytes/)
      expect(await codeOf(readPth(file('big-legacy.pth')))).toBe('truncated')

      const zip = Buffer.from(readFileSync(file('small-zip.pth')))
      const at = centralEntry(zip, '/data/0')
      zip.writeUInt32LE(0x7fff_0000, at + 20)
      zip.writeUInt32LE(0x7fff_0000, at + 24)
      writeFileSync(file('big-zip.pth'), zip)
      await expect(readPthStructure(file('big-zip.pth'))).rejects.toThrow(/past the end of the/)
      expect(await codeOf(readPth(file('big-zip.pth')))).toBe('truncated')

      // The other way round: an entry smaller than its tensors need.
      zip.writeUInt32LE(4, at + 20)
      zip.writeUInt32LE(4, at + 24)
      writeFileSync(file('small-entry-zip.pth'), zip)
      await expect(readPth(file('small-entry-zip.pth'))).rejects.toThrow(/storage 0 holds 4 bytes/)
    })
  }
)

// --- no PyTorch needed: hand-built files ---------------------------------------------------------------------

const bytesOf = (s: string): number[] => [...Buffer.from(s, 'utf8')]
const u32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff]
const u64 = (n: number | bigint): number[] => {
  const b = Buffer.alloc(8)
  b.writeBigUInt64LE(BigInt(n))
  return [...b]
}
const MARK = 0x28
const TUPLE = 0x74
const EMPTY_TUPLE = 0x29
const REDUCE = 0x52
const BINPERSID = 0x51
const SETITEM = 0x73
const NEWFALSE = 0x89
const NONE = 0x4e
const STOP = 0x2e
const glob = (module: string, name: string): number[] => [0x63, ...bytesOf(module), 10, ...bytesOf(name), 10]
const int = (n: number): number[] => (n < 256 ? [0x4b, n] : [0x4a, ...u32(n)])
const str = (s: string): number[] => [0x58, ...u32(bytesOf(s).length), ...bytesOf(s)]
const tuple = (...items: number[][]): number[] => [MARK, ...items.flat(), TUPLE]

interface TensorSpec {
  key: string
  numel: number
  offset: number
  size: number[]
  stride: number[]
  type?: string
}

/** _rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict()), as torch.save writes it. */
function tensorPickle(t: TensorSpec, legacy: boolean): number[] {
  const pid = tuple(
    str('storage'),
    glob('torch', t.type ?? 'FloatStorage'),
    str(t.key),
    str('cpu'),
    int(t.numel),
    ...(legacy ? [[NONE]] : [])
  )
  return [
    ...glob('torch._utils', '_rebuild_tensor_v2'),
    ...tuple(
      [...pid, BINPERSID],
      int(t.offset),
      tuple(...t.size.map(int)),
      tuple(...t.stride.map(int)),
      [NEWFALSE],
      [...glob('collections', 'OrderedDict'), EMPTY_TUPLE, REDUCE]
    ),
    REDUCE
  ]
}

/** An OrderedDict of tensors (or of whatever pickled values are given). */
function dictPickle(entries: [string, number[]][]): number[] {
  const items = entries.flatMap(([k, v]) => [...str(k), ...v, SETITEM])
  return [0x80, 2, ...glob('collections', 'OrderedDict'), EMPTY_TUPLE, REDUCE, ...items, STOP]
}

const f32 = (values: number[]): number[] => [...Buffer.from(new Float32Array(values).buffer)]

/** The legacy format: magic, 1001, sys_info, the object, the storage keys, then count + bytes per storage. */
function legacyFile(
  object: number[],
  storages: { key: string; count: number | bigint; data: number[] }[]
): Buffer {
  const magic = [0x80, 2, 0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, STOP]
  const protocol = [0x80, 2, 0x4d, 0xe9, 0x03, STOP]
  const sysInfo = [0x80, 2, 0x7d, ...str('little_endian'), 0x88, SETITEM, STOP]
  const keys = [0x80, 2, 0x5d, MARK, ...storages.flatMap((s) => str(s.key)), 0x65, STOP]
  const data = storages.flatMap((s) => [...u64(s.count), ...s.data])
  return Buffer.from([...magic, ...protocol, ...sysInfo, ...object, ...keys, ...data])
}

/** A ZIP of stored entries (CRCs left 0: PyTorch's reader checks them, ours does not need them). */
function zipFile(entries: { name: string; data: number[]; method?: number }[], zip64 = false): Buffer {
  const out: number[] = []
  const central: number[] = []
  const u16 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff]
  for (const e of entries) {
    const name = bytesOf(e.name)
    const offset = out.length
    const method = e.method ?? 0
    out.push(...u32(0x04034b50), ...u16(20), ...u16(0), ...u16(method), ...u16(0), ...u16(0), ...u32(0))
    out.push(...u32(e.data.length), ...u32(e.data.length), ...u16(name.length), ...u16(0), ...name, ...e.data)
    const extra = zip64
      ? [...u16(1), ...u16(24), ...u64(e.data.length), ...u64(e.data.length), ...u64(offset)]
      : []
    const big = (n: number): number[] => (zip64 ? u32(0xffffffff) : u32(n))
    central.push(...u32(0x02014b50), ...u16(45), ...u16(45), ...u16(0), ...u16(method), ...u16(0), ...u16(0))
    central.push(
      ...u32(0),
      ...big(e.data.length),
      ...big(e.data.length),
      ...u16(name.length),
      ...u16(extra.length)
    )
    central.push(...u16(0), ...u16(0), ...u16(0), ...u32(0), ...big(offset), ...name, ...extra)
  }
  const dirOffset = out.length
  out.push(...central)
  if (zip64) {
    const z64 = out.length
    out.push(...u32(0x06064b50), ...u64(44), ...u16(45), ...u16(45), ...u32(0), ...u32(0))
    out.push(...u64(entries.length), ...u64(entries.length), ...u64(central.length), ...u64(dirOffset))
    out.push(...u32(0x07064b50), ...u32(0), ...u64(z64), ...u32(1))
    out.push(...u32(0x06054b50), ...u16(0), ...u16(0), ...u16(0xffff), ...u16(0xffff))
    out.push(...u32(0xffffffff), ...u32(0xffffffff), ...u16(0))
  } else {
    out.push(...u32(0x06054b50), ...u16(0), ...u16(0), ...u16(entries.length), ...u16(entries.length))
    out.push(...u32(central.length), ...u32(dirOffset), ...u16(0))
  }
  return Buffer.from(out)
}

/** Offset of the central directory entry whose name ends with `suffix`. */
function centralEntry(zip: Buffer, suffix: string): number {
  for (let p = zip.length - 46; p >= 0; p--) {
    if (zip.readUInt32LE(p) !== 0x02014b50) continue
    const name = zip.subarray(p + 46, p + 46 + zip.readUInt16LE(p + 28)).toString('utf8')
    if (name.endsWith(suffix)) return p
  }
  throw new Error(`no central directory entry ending with ${suffix}`)
}

/** A 2 x 3 float32 tensor stored transposed (a [3, 2] storage read with stride (1, 2)), plus one at offset 6. */
const TRANSPOSED: TensorSpec = { key: '0', numel: 8, offset: 0, size: [2, 3], stride: [1, 2] }
const TAIL: TensorSpec = { key: '0', numel: 8, offset: 6, size: [2], stride: [1] }
const STORAGE = [0, 1, 2, 3, 4, 5, 6, 7]

describe('readPth on hand-built files (no PyTorch needed)', () => {
  let tmp: { dir: string; remove: () => void }
  const file = (name: string, bytes?: Buffer): string => {
    const path = join(tmp.dir, name)
    if (bytes) writeFileSync(path, bytes)
    return path
  }
  beforeAll(() => {
    tmp = tempDir('ts-pth-hand-')
  })
  afterAll(() => tmp?.remove())

  const object = (legacy: boolean): number[] =>
    dictPickle([
      ['w', tensorPickle(TRANSPOSED, legacy)],
      ['tail', tensorPickle(TAIL, legacy)]
    ])
  const check = (sd: Awaited<ReturnType<typeof readPth>>): void => {
    expect(sd.get('w')).toEqual({
      shape: [2, 3],
      dtype: 'float32',
      data: new Float32Array([0, 2, 4, 1, 3, 5])
    })
    expect(sd.get('tail')).toEqual({ shape: [2], dtype: 'float32', data: new Float32Array([6, 7]) })
  }

  it('a legacy file: strides and offsets into one shared storage', async () => {
    const path = file(
      'tiny-legacy.pth',
      legacyFile(object(true), [{ key: '0', count: 8, data: f32(STORAGE) }])
    )
    check(await readPth(path))
    const s = await readPthStructure(path)
    expect(s).toEqual({
      format: 'legacy',
      tensors: new Map([
        ['w', { shape: [2, 3], dtype: 'float32' }],
        ['tail', { shape: [2], dtype: 'float32' }]
      ]),
      dataBytes: 32
    })
  })

  for (const zip64 of [false, true]) {
    it(`a zip file${zip64 ? ' with ZIP64 records (as for a state dict over 4 GB)' : ''}`, async () => {
      const bytes = zipFile(
        [
          { name: 'archive/data.pkl', data: object(false) },
          { name: 'archive/byteorder', data: bytesOf('little') },
          { name: 'archive/data/0', data: f32(STORAGE) },
          { name: 'archive/version', data: bytesOf('3\n') }
        ],
        zip64
      )
      const path = file(`tiny-${zip64 ? 'zip64' : 'zip'}.pth`, bytes)
      check(await readPth(path))
      expect((await readPthStructure(path)).format).toBe('zip')
    })
  }

  it('refuses a compressed entry, a missing storage, and a big-endian archive', async () => {
    const entries = (over: { method?: number; storage?: boolean; order?: string }) =>
      zipFile([
        { name: 'archive/data.pkl', data: object(false), method: over.method },
        { name: 'archive/byteorder', data: bytesOf(over.order ?? 'little') },
        ...(over.storage === false ? [] : [{ name: 'archive/data/0', data: f32(STORAGE) }])
      ])
    const compressed = file('deflated.pth', entries({ method: 8 }))
    await expect(readPth(compressed)).rejects.toThrow(/compressed/)
    expect(await codeOf(readPth(compressed))).toBe('unsupported')
    const missing = file('missing.pth', entries({ storage: false }))
    await expect(readPthStructure(missing)).rejects.toThrow(/storage 0 is missing/)
    expect(await codeOf(readPth(missing))).toBe('damaged')
    expect(await codeOf(readPth(file('big-endian.pth', entries({ order: 'big' }))))).toBe('unsupported')
  })

  it('refuses os.system and builtins.eval by name, in either format', async () => {
    const system = [...glob('posix', 'system'), ...str('echo pwned'), 0x85, REDUCE]
    const evil = legacyFile(dictPickle([['x', system]]), [])
    const p = readPth(file('system.pth', evil))
    await expect(p).rejects.toThrow(/refusing to load: .*'posix\.system'/)
    expect(await codeOf(p)).toBe('refused')
    const evalCall = [...glob('builtins', 'eval'), ...str('1+1'), 0x85, REDUCE]
    const zip = zipFile([{ name: 'archive/data.pkl', data: dictPickle([['x', evalCall]]) }])
    await expect(readPthStructure(file('eval.pth', zip))).rejects.toThrow(/'builtins\.eval'/)
  })

  it('refuses a tensor that reaches past its storage, and a storage larger than the file', async () => {
    const past = legacyFile(dictPickle([['w', tensorPickle({ ...TRANSPOSED, size: [3, 4] }, true)]]), [
      { key: '0', count: 8, data: f32(STORAGE) }
    ])
    const p = readPthStructure(file('past.pth', past))
    await expect(p).rejects.toThrow(/reaches byte 36 of a storage of 32 bytes/)
    expect(await codeOf(p)).toBe('damaged')
    const huge = legacyFile(object(true), [{ key: '0', count: 1n << 50n, data: f32(STORAGE) }])
    const q = readPth(file('huge.pth', huge))
    await expect(q).rejects.toThrow(/declares \d+ bytes; the file has 32 after it \(truncated\)/)
    expect(await codeOf(q)).toBe('truncated')
  })

  it('refuses files that are not PyTorch files', async () => {
    expect(await codeOf(readPth(file('empty.pth', Buffer.alloc(0))))).toBe('truncated')
    expect(await codeOf(readPth(file('text.pth', Buffer.from('hello, this is not a weights file'))))).toBe(
      'not-pytorch'
    )
    const npy = Buffer.concat([Buffer.from('\x93NUMPY\x01\x00', 'latin1'), Buffer.alloc(120, 0x20)])
    await expect(readPth(file('array.pth', npy))).rejects.toThrow(/NPY file/)
    const notDict = legacyFile([0x80, 2, ...int(7), STOP], [])
    const p = readPth(file('int.pth', notDict))
    await expect(p).rejects.toThrow(/holds int 7, not a state dict/)
    expect(await codeOf(p)).toBe('not-a-state-dict')
  })

  it.skipIf(process.platform === 'win32')(
    'refuses a FIFO, a symlink to /dev/zero, a folder and a missing path, without hanging',
    async () => {
      const fifo = file('fifo.pth')
      execFileSync('mkfifo', [fifo])
      await expect(readPth(fifo)).rejects.toThrow(/is not a regular file \(a FIFO\)/)
      expect(await codeOf(readPthStructure(fifo))).toBe('not-a-file')
      const zero = file('zero.pth')
      symlinkSync('/dev/zero', zero)
      await expect(readPthStructure(zero)).rejects.toThrow(/is not a regular file \(a device\)/)
      expect(await codeOf(readPth(zero))).toBe('not-a-file')
      const folder = file('folder.pth')
      mkdirSync(folder)
      expect(await codeOf(readPth(folder))).toBe('not-a-file')
      await expect(readPth(file('nothing-here.pth'))).rejects.toThrow(/does not exist/)
    },
    5_000
  )
})
