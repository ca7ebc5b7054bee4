// The catalogue: the built-in one parses and agrees with torchvision's own model files (read from the
// installed python3-torchvision when present), user catalogues are refused with a message naming the first
// wrong entry and field, the torch.hub hash-prefix rule, and where the cache lives on each OS.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  builtinCatalogue,
  hashPrefixOf,
  loadCatalogue,
  modelCacheDir,
  parseCatalogue,
  type CatalogueEntry
} from '../../../src/main/hub'
import { ALEXNET_BVLC_SHAPES } from '../../../src/main/ml'
import { tempDir } from '../../helpers'
import { entry, writeCatalogue } from './fixtures'

const TORCHVISION = process.env.TS_TORCHVISION_MODELS ?? '/usr/lib/python3/dist-packages/torchvision/models'
const inCi = !!process.env.CI && process.env.CI !== 'false'
const haveTorchvision = existsSync(join(TORCHVISION, 'resnet.py'))
// Skipped on a developer's machine without python3-torchvision; under CI a missing package fails the test.
const skipTorchvision = !haveTorchvision && !inCi
const torchvisionTitle =
  "matches torchvision's model files (url, num_params, acc@1, crop size)" +
  (skipTorchvision
    ? ` [skipped: no torchvision model files in ${TORCHVISION}; apt install python3-torchvision]`
    : '')

describe('the built-in catalogue', () => {
  const catalogue = builtinCatalogue()
  const byId = new Map(catalogue.map((e) => [e.id, e]))

  it('parses and holds the studio models', () => {
    expect(catalogue.map((e) => e.id)).toEqual([
      'bvlc-alexnet',
      'alexnet',
      'resnet18',
      'resnet50',
      'mobilenet_v2',
      'mobilenet_v3_large',
      'mobilenet_v3_small',
      'efficientnet_b0'
    ])
    for (const e of catalogue) {
      // Every file is checkable beyond its size: a full digest that agrees with its name's prefix, or (BVLC)
      // the structure check.
      if (e.format === 'bvlc-npy') expect(e.sha256).toBeNull()
      else expect(e.sha256?.startsWith(hashPrefixOf(e.url) ?? 'none')).toBe(true)
      expect(e.url.startsWith('https://')).toBe(true)
    }
  })

  it("gives BVLC AlexNet the tutorial's file, 227 px, and the parameters of its layers", () => {
    const bvlc = byId.get('bvlc-alexnet') as CatalogueEntry
    expect(bvlc.url).toBe(
      'https://d17h27t6h515a5.cloudfront.net/topher/2016/October/580d880c_bvlc-alexnet/bvlc-alexnet.npy'
    )
    expect(bvlc).toMatchObject({
      format: 'bvlc-npy',
      architecture: 'alexnet',
      input_size: 227,
      bytes: 243861814
    })
    const params = Object.values(ALEXNET_BVLC_SHAPES).reduce(
      (n, l) => n + l.W.reduce((a, b) => a * b, 1) + l.b.reduce((a, b) => a * b, 1),
      0
    )
    expect(bvlc.params).toBe(params)
    // float32 data plus the NPY header and pickle framing: under 1 KB of overhead.
    expect(bvlc.bytes - params * 4).toBeGreaterThan(0)
    expect(bvlc.bytes - params * 4).toBeLessThan(1024)
  })

  // Which torchvision weights each entry is, and the one URL that differs from torchvision 0.14.1's file.
  const TORCHVISION_SOURCES: Record<string, { file: string; enumName: string; variant: string }> = {
    alexnet: { file: 'alexnet.py', enumName: 'AlexNet_Weights', variant: 'IMAGENET1K_V1' },
    resnet18: { file: 'resnet.py', enumName: 'ResNet18_Weights', variant: 'IMAGENET1K_V1' },
    resnet50: { file: 'resnet.py', enumName: 'ResNet50_Weights', variant: 'IMAGENET1K_V1' },
    mobilenet_v2: { file: 'mobilenetv2.py', enumName: 'MobileNet_V2_Weights', variant: 'IMAGENET1K_V2' },
    mobilenet_v3_large: {
      file: 'mobilenetv3.py',
      enumName: 'MobileNet_V3_Large_Weights',
      variant: 'IMAGENET1K_V1'
    },
    mobilenet_v3_small: {
      file: 'mobilenetv3.py',
      enumName: 'MobileNet_V3_Small_Weights',
      variant: 'IMAGENET1K_V1'
    },
    efficientnet_b0: {
      file: 'efficientnet.py',
      enumName: 'EfficientNet_B0_Weights',
      variant: 'IMAGENET1K_V1'
    }
  }
  /** torchvision < 0.16.1 names this file after timm's hash, not its own (pytorch/vision#7744, #8036). */
  const RENAMED = new Set(['efficientnet_b0'])

  it.skipIf(skipTorchvision)(torchvisionTitle, () => {
    if (!haveTorchvision) {
      throw new Error(
        `torchvision's model files are missing (looked in ${TORCHVISION}); CI needs python3-torchvision`
      )
    }
    for (const [id, src] of Object.entries(TORCHVISION_SOURCES)) {
      const e = byId.get(id) as CatalogueEntry
      const tv = readWeights(join(TORCHVISION, src.file), src.enumName, src.variant)
      if (RENAMED.has(id)) {
        // Same file stem; the hex is the file's own digest prefix instead of the stale one.
        expect(hashPrefixOf(tv.url)).not.toBe(e.sha256?.slice(0, 8))
        expect(e.url).toBe(tv.url.replace(/-[0-9a-f]+\.pth$/, `-${e.sha256?.slice(0, 8)}.pth`))
      } else {
        expect(e.url, id).toBe(tv.url)
      }
      expect(e.params, id).toBe(tv.numParams)
      expect(e.imagenet_top1, id).toBe(tv.acc1)
      expect(e.input_size, id).toBe(tv.cropSize)
      expect(e.format).toBe('torchvision-pth')
      expect(e.architecture).toBe(id)
      // The installed files carry no GFLOPS, so neither does the catalogue.
      if (!tv.hasOps) expect(e.macs, id).toBeNull()
    }
  })

  it.skipIf(!existsSync('/usr/share/doc/python3-torchvision/copyright'))(
    "names torchvision's licence as its copyright file does",
    () => {
      const copyright = readFileSync('/usr/share/doc/python3-torchvision/copyright', 'utf8')
      expect(copyright).toMatch(/Files: \*\nCopyright:[^]*?License: BSD-3-Clause/)
      for (const e of catalogue.filter((x) => x.format === 'torchvision-pth')) {
        expect(e.licence.startsWith('BSD-3-Clause')).toBe(true)
      }
    }
  )
})

/** The url, num_params, acc@1 and crop size of one `Weights(...)` member of a torchvision weights enum. */
function readWeights(
  file: string,
  enumName: string,
  variant: string
): { url: string; numParams: number; acc1: number; cropSize: number; hasOps: boolean } {
  const text = readFileSync(file, 'utf8')
  const classAt = text.indexOf(`class ${enumName}(WeightsEnum):`)
  expect(classAt, `${enumName} in ${file}`).toBeGreaterThanOrEqual(0)
  const memberAt = text.indexOf(`    ${variant} = Weights(`, classAt)
  expect(memberAt, `${enumName}.${variant}`).toBeGreaterThan(classAt)
  // The member ends where the next member (or the enum) begins.
  const rest = text.slice(memberAt + 4)
  const end = rest.search(/\n {4}[A-Z][A-Z0-9_]* = |\n\S/)
  const block = rest.slice(0, end < 0 ? undefined : end)
  const num = (re: RegExp, where: string): number => {
    const m = re.exec(where)
    expect(m, `${re} in ${enumName}.${variant}`).not.toBeNull()
    return Number((m as RegExpExecArray)[1])
  }
  const common = /_COMMON_META[A-Z0-9_]* = \{[^}]*\}/g
  const numParamsIn = /"num_params": (\d+)/.test(block) ? block : (text.match(common) ?? []).join('\n')
  return {
    url: (/url="([^"]+)"/.exec(block) ?? [])[1] ?? '',
    numParams: num(/"num_params": (\d+)/, numParamsIn),
    acc1: num(/"acc@1": ([\d.]+)/, block),
    cropSize: num(/crop_size=(\d+)/, block),
    hasOps: /"_ops"|GFLOPS/.test(block)
  }
}

describe('hashPrefixOf (torch.hub check_hash)', () => {
  /** torch.hub's own rule: HASH_REGEX = re.compile(r'-([a-f0-9]*)\.'), searched in the file name. */
  const torchRule = (name: string): string | null => /-([a-f0-9]*)\./.exec(name)?.[1] || null

  it('takes the hex after the last dash before the extension', () => {
    expect(hashPrefixOf('resnet18-f37072fd.pth')).toBe('f37072fd')
    expect(hashPrefixOf('https://download.pytorch.org/models/alexnet-owt-7be5be79.pth')).toBe('7be5be79')
    expect(hashPrefixOf('https://example.org/a/efficientnet_b0_rwightman-7f5810bc.pth?x=1')).toBe('7f5810bc')
    expect(hashPrefixOf('bvlc-alexnet.npy')).toBeNull()
    expect(hashPrefixOf('model.pth')).toBeNull()
    expect(hashPrefixOf('model-.pth')).toBeNull()
    expect(hashPrefixOf('model-F37072FD.pth')).toBeNull()
  })

  it("agrees with torch.hub's regex on every built-in file name", () => {
    for (const e of builtinCatalogue()) {
      const name = new URL(e.url).pathname.split('/').at(-1) as string
      expect(hashPrefixOf(e.url), name).toBe(torchRule(name))
    }
  })
})

describe('user catalogues (TS_MODEL_CATALOGUE)', () => {
  let tmp: ReturnType<typeof tempDir>
  beforeEach(() => (tmp = tempDir('ts-catalogue-')))
  afterEach(() => tmp.remove())

  const good = entry({ id: 'mine', url: 'https://mirror.example/models/mine-0123abcd.pth', bytes: 1000 })

  it('replaces the built-in catalogue', async () => {
    const file = writeCatalogue(tmp.dir, [good])
    expect(await loadCatalogue({ TS_MODEL_CATALOGUE: file })).toEqual([good])
    expect((await loadCatalogue({})).length).toBe(builtinCatalogue().length)
  })

  /** The message a catalogue holding `entries` is refused with. */
  function refusal(entries: unknown): string {
    try {
      parseCatalogue(entries, 'cat.json')
    } catch (e) {
      return (e as Error).message
    }
    throw new Error('the catalogue was accepted')
  }

  it('names the first wrong entry and field', () => {
    expect(refusal([good, { ...good, id: 'two', sha256: 'abc' }])).toBe(
      'cat.json: entry 2 ("two") sha256: must be 64 lowercase hex digits (a SHA-256) or null'
    )
    expect(refusal([{ ...good, bytes: -5 }])).toMatch(/^cat\.json: entry 1 \("mine"\) bytes: /)
    expect(refusal([{ ...good, bytes: 1.5 }])).toMatch(/entry 1 \("mine"\) bytes: /)
    expect(refusal([{ ...good, imagenet_top1: 101 }])).toMatch(/entry 1 \("mine"\) imagenet_top1: /)
    expect(refusal([{ ...good, format: 'safetensors' }])).toMatch(/entry 1 \("mine"\) format: /)
    expect(refusal([{ ...good, url: 'ftp://x/y-0123abcd.pth' }])).toMatch(/url: must be an http/)
    expect(refusal([{ ...good, id: '../escape' }])).toMatch(/entry 1 \("\.\.\/escape"\) id: /)
    expect(refusal([{ ...good, extra: 1 }])).toMatch(/entry 1 \("mine"\): .*extra/)
    const { licence: _licence, ...noLicence } = good
    expect(refusal([noLicence])).toMatch(/entry 1 \("mine"\) licence: /)
    expect(refusal([good, good])).toBe('cat.json: entry 2 ("mine") id: used twice')
    expect(refusal({ models: [] })).toMatch(/^cat\.json: the catalogue must be a JSON array/)
  })

  it('needs a hash that agrees with the name, or a check beyond the size', () => {
    expect(refusal([{ ...good, sha256: 'f'.repeat(64) }])).toBe(
      'cat.json: entry 1 ("mine") sha256: does not start with "0123abcd", the hash prefix in the URL\'s file name'
    )
    expect(refusal([{ ...good, url: 'https://mirror.example/mine.pth' }])).toMatch(
      /entry 1 \("mine"\) sha256: is needed/
    )
    const bvlc = { ...good, format: 'bvlc-npy', url: 'https://mirror.example/bvlc-alexnet.npy' }
    expect(parseCatalogue([bvlc], 'cat.json')).toHaveLength(1)
  })

  it('refuses files that are not catalogues, naming the file', async () => {
    const bad = join(tmp.dir, 'bad.json')
    writeFileSync(bad, '[{"id": ')
    await expect(loadCatalogue({ TS_MODEL_CATALOGUE: bad })).rejects.toThrow(
      `model catalogue ${bad} (TS_MODEL_CATALOGUE): not valid JSON`
    )
    const folder = join(tmp.dir, 'folder.json')
    mkdirSync(folder)
    await expect(loadCatalogue({ TS_MODEL_CATALOGUE: folder })).rejects.toThrow(/not a regular file/)
    await expect(loadCatalogue({ TS_MODEL_CATALOGUE: join(tmp.dir, 'none.json') })).rejects.toThrow(
      /cannot read it: ENOENT/
    )
    const wrong = writeCatalogue(tmp.dir, [{ ...good, input_size: 0 }])
    await expect(loadCatalogue({ TS_MODEL_CATALOGUE: wrong })).rejects.toThrow(
      new RegExp(`^model catalogue ${wrong} \\(TS_MODEL_CATALOGUE\\): entry 1 \\("mine"\\) input_size: `)
    )
  })
})

describe('modelCacheDir', () => {
  const home = '/home/ana'
  it('is TS_MODEL_DIR when set, else the OS user cache', () => {
    expect(modelCacheDir({ TS_MODEL_DIR: '/data/models' }, 'linux', home)).toBe('/data/models')
    expect(modelCacheDir({}, 'linux', home)).toBe('/home/ana/.cache/transfer-studio/models')
    expect(modelCacheDir({ XDG_CACHE_HOME: '/var/cache/ana' }, 'linux', home)).toBe(
      '/var/cache/ana/transfer-studio/models'
    )
    // The XDG spec: a relative XDG_CACHE_HOME is ignored.
    expect(modelCacheDir({ XDG_CACHE_HOME: 'cache' }, 'linux', home)).toBe(
      '/home/ana/.cache/transfer-studio/models'
    )
    expect(modelCacheDir({}, 'darwin', home)).toBe('/home/ana/Library/Caches/transfer-studio/models')
    expect(modelCacheDir({ LOCALAPPDATA: 'C:\\Users\\ana\\AppData\\Local' }, 'win32', home)).toMatch(
      /^C:\\Users\\ana\\AppData\\Local[\\/]transfer-studio[\\/]models$/
    )
  })
})
