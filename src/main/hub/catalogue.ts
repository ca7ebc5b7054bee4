// The model catalogue: which pretrained weights the hub offers, where they come from and how a file is known
// to be the right one. The studio ships one (catalogue.json); `TS_MODEL_CATALOGUE=<file>` replaces it with a
// user's own file of the same schema (a mirror, an air-gapped site, tests). A file that breaks the schema is
// refused as a whole, with a message naming the first wrong entry and field.
//
// How each file is verified once it is on disk:
// - its size must equal `bytes` (a larger one is cut off while it streams in);
// - `sha256`, when the entry has it, must equal the file's SHA-256;
// - torchvision-style names carry the first hex digits of the file's SHA-256 (`resnet18-f37072fd.pth`), which
//   must prefix the file's digest, as torch.hub's `check_hash` does (`hashPrefixOf`);
// - the BVLC file has no published hash and no prefix: it is checked by size plus structure (the NPY header
//   and pickled dict read without the array data, every layer with the shape of ALEXNET_BVLC_SHAPES).
// An entry must be checkable beyond its size: a full hash, a name prefix, or the BVLC structure check.
//
// Where the built-in figures come from (checked by test/main/hub/catalogue.test.ts against the installed
// torchvision's files where it can):
// - torchvision entries: url, num_params, `_metrics` acc@1 and transforms crop_size from the `*_Weights`
//   enums of torchvision 0.14.1 (Debian's python3-torchvision, torchvision/models/{alexnet,resnet,
//   mobilenetv2,mobilenetv3,efficientnet}.py). Those files give no GFLOPS, so `macs` is null (torchvision >=
//   0.15 added `_ops` in GFLOPS; not copied here, since the installed files do not have it).
//   Exact byte sizes and full SHA-256 digests are not in torchvision's files: they come from public records
//   of the downloaded files (several independent repositories agree on each; each digest starts with the
//   prefix in its file name, and each size matches torchvision >= 0.15's `_file_size` in MiB).
//   IMAGENET1K_V1 everywhere except:
//   * mobilenet_v2 uses IMAGENET1K_V2 (torchvision's DEFAULT, acc@1 72.154): its exact size and digest were
//     found, V1's were not, and an entry whose size is a guess would refuse the real file.
//   * efficientnet_b0: torchvision 0.14.1 names the file `efficientnet_b0_rwightman-3dd342df.pth`, but that
//     prefix is the hash of timm's original file, not of torchvision's (pytorch/vision#7744: "invalid hash
//     value (expected 3dd342df, got 7f5810bc...)"). pytorch/vision#8036 put the same weights under
//     `efficientnet_b0_rwightman-7f5810bc.pth`, whose name matches its digest; that URL is used.
// - licences: torchvision's copyright file (/usr/share/doc/python3-torchvision/copyright) puts the package
//   under BSD-3-Clause; torchvision's README ("Pre-trained Model License") adds that weights may carry terms
//   derived from their training data. BVLC's models/bvlc_alexnet/readme.md says "license: unrestricted" /
//   "released for unrestricted use" (an older BVLC model-zoo page said academic/non-commercial for its models).
// - bvlc-alexnet: the tutorial's URL; 243,861,814 bytes (also the size other projects check for this file),
//   which is the 60,965,224 float32 parameters of ALEXNET_BVLC_SHAPES (243,860,896 bytes) plus 918 bytes of
//   NPY header and pickle; top-1 57.1 % is BVLC's figure for the Caffe model it was converted from; 227 px.
import { readFile, type FileHandle } from 'node:fs/promises'
import { basename } from 'node:path'
import { z } from 'zod'
import builtin from './catalogue.json'
import { HubError } from './errors'
import { openRegularFile } from './files'

/** Largest model file an entry may declare (16 GiB): anything bigger is a typo or not an image classifier. */
export const MAX_MODEL_BYTES = 16 * 1024 ** 3
/** A catalogue file is a few kilobytes; this bounds what a wrong path could make us read. */
const MAX_CATALOGUE_BYTES = 1 << 20
const MAX_ENTRIES = 1000

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits (a SHA-256) or null')

const HttpUrl = z
  .string()
  .max(2048)
  .refine((s) => {
    try {
      const u = new URL(s)
      return (u.protocol === 'https:' || u.protocol === 'http:') && u.hostname !== ''
    } catch {
      return false
    }
  }, 'must be an http:// or https:// URL')

export const CatalogueEntrySchema = z
  .strictObject({
    /** Also the cache folder's name: lowercase letters, digits, '.', '_' and '-'. */
    id: z
      .string()
      .regex(
        /^[a-z0-9][a-z0-9._-]{0,63}$/,
        'must be 1-64 of a-z, 0-9, ".", "_", "-" (starting alphanumeric)'
      ),
    name: z.string().min(1).max(200),
    /** The network the weights fit (`alexnet`, `resnet18`, ...); several entries may share one. */
    architecture: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, 'must be 1-64 of a-z, 0-9, "_", ".", "-"'),
    format: z.enum(['bvlc-npy', 'torchvision-pth', 'onnx']),
    url: HttpUrl,
    /** The whole file's SHA-256, lowercase hex, or null when none is published. */
    sha256: Sha256.nullable(),
    /** Exact file size in bytes. */
    bytes: z.int().min(1).max(MAX_MODEL_BYTES),
    /** Side of the square input image, in pixels. */
    input_size: z.int().min(8).max(4096),
    /** ImageNet-1K top-1 accuracy in percent, as its publisher reports it. */
    imagenet_top1: z.number().min(0).max(100).nullable(),
    /** Number of parameters. */
    params: z.int().min(1).max(1e12).nullable(),
    /** Multiply-accumulates for one image at `input_size`. */
    macs: z.int().min(1).max(1e15).nullable(),
    licence: z.string().min(1).max(300)
  })
  .superRefine((e, ctx) => {
    const prefix = hashPrefixOf(e.url)
    if (e.sha256 !== null && prefix !== null && !e.sha256.startsWith(prefix)) {
      ctx.addIssue({
        code: 'custom',
        path: ['sha256'],
        message: `does not start with "${prefix}", the hash prefix in the URL's file name`
      })
    }
    if (e.sha256 === null && prefix === null && e.format !== 'bvlc-npy') {
      ctx.addIssue({
        code: 'custom',
        path: ['sha256'],
        message:
          'is needed: the URL\'s file name carries no hash prefix ("name-<hex>.ext"), and only bvlc-npy ' +
          'files can be checked by their structure'
      })
    }
  })

export type CatalogueEntry = z.infer<typeof CatalogueEntrySchema>

const CatalogueSchema = z.array(CatalogueEntrySchema).max(MAX_ENTRIES)

/**
 * The hash prefix torch.hub's `check_hash` takes from a file name: the hex digits after the last '-' before
 * the extension (`resnet18-f37072fd.pth` -> `f37072fd`). Null when the name has none. Accepts a URL or a name.
 */
export function hashPrefixOf(urlOrName: string): string | null {
  let name = urlOrName
  try {
    name = basename(new URL(urlOrName).pathname)
  } catch {
    name = basename(urlOrName)
  }
  const m = /-([0-9a-f]+)\.[A-Za-z0-9]+$/.exec(name)
  return m ? m[1] : null
}

/**
 * Parses a catalogue (the built-in one or a user's), refusing it whole with a message naming `source`, the
 * first wrong entry (by position and id) and its field.
 */
export function parseCatalogue(value: unknown, source: string): CatalogueEntry[] {
  const parsed = CatalogueSchema.safeParse(value)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const [index, field, ...rest] = issue.path
    if (typeof index !== 'number') {
      throw new HubError(
        'catalogue',
        `${source}: the catalogue must be a JSON array of models: ${issue.message}`
      )
    }
    const raw: unknown = Array.isArray(value) ? value[index] : undefined
    const id =
      raw && typeof raw === 'object' && typeof (raw as { id?: unknown }).id === 'string'
        ? ` ("${(raw as { id: string }).id.slice(0, 64)}")`
        : ''
    const where = field === undefined ? '' : ` ${[field, ...rest].join('.')}`
    throw new HubError('catalogue', `${source}: entry ${index + 1}${id}${where}: ${issue.message}`)
  }
  const seen = new Set<string>()
  parsed.data.forEach((e, i) => {
    if (seen.has(e.id))
      throw new HubError('catalogue', `${source}: entry ${i + 1} ("${e.id}") id: used twice`)
    seen.add(e.id)
  })
  return parsed.data
}

/** The catalogue that ships with the studio. */
export function builtinCatalogue(): CatalogueEntry[] {
  return parseCatalogue(builtin, 'built-in model catalogue')
}

/** The built-in catalogue, or the file `TS_MODEL_CATALOGUE` names instead of it. */
export async function loadCatalogue(env: NodeJS.ProcessEnv = process.env): Promise<CatalogueEntry[]> {
  const file = env['TS_MODEL_CATALOGUE']
  if (!file) return builtinCatalogue()
  return readCatalogueFile(file)
}

/** A user's catalogue file: a regular file of at most 1 MiB holding a JSON array. */
export async function readCatalogueFile(file: string): Promise<CatalogueEntry[]> {
  const source = `model catalogue ${file} (TS_MODEL_CATALOGUE)`
  const refuse = (why: string): never => {
    throw new HubError('catalogue', `${source}: ${why}`)
  }
  let text = ''
  let handle: FileHandle | undefined
  try {
    handle = await openRegularFile(file)
    const { size } = await handle.stat()
    if (size > MAX_CATALOGUE_BYTES) refuse(`${size} bytes is too big for a catalogue (at most 1 MiB)`)
    text = await readFile(handle, 'utf8')
  } catch (e) {
    if (e instanceof HubError && e.code === 'catalogue') throw e
    refuse(e instanceof HubError ? 'not a regular file' : `cannot read it: ${(e as Error).message}`)
  } finally {
    await handle?.close()
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    refuse(`not valid JSON: ${(e as Error).message}`)
  }
  return parseCatalogue(value, source)
}
