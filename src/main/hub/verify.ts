// The checks a model file passes before the cache holds it: exact size, the full SHA-256 when the catalogue
// has one, the hash prefix in the file name when it has one (torch.hub's rule), and for BVLC files their
// structure. The digest is computed by the caller while the bytes stream in, never by reading the file again.
import { ALEXNET_BVLC_SHAPES, checkBvlcShapes, readBvlcLayout } from '../ml'
import { hashPrefixOf, type CatalogueEntry } from './catalogue'
import { HubError } from './errors'

/** What was checked, for the caller's report. */
export interface Verification {
  /** The file's SHA-256, lowercase hex. */
  sha256: string
  /** Bytes, equal to the catalogue's. */
  bytes: number
  /** Which checks the file passed. */
  checks: ('size' | 'sha256' | 'hash-prefix' | 'structure')[]
}

/**
 * Checks a complete file of `size` bytes whose SHA-256 is `digest` against `entry`; `path` is read only for
 * the structure check (positioned reads of the header, not the data). `label` names the file in messages.
 */
export async function verifyModelFile(
  entry: CatalogueEntry,
  path: string,
  size: number,
  digest: string,
  label: string
): Promise<Verification> {
  const checks: Verification['checks'] = []
  if (size !== entry.bytes) {
    throw new HubError(
      'size',
      `${label} is ${size} bytes, but ${entry.id} is ${entry.bytes} bytes: ` +
        (size < entry.bytes ? 'the file is incomplete' : 'the file is not the one the catalogue names')
    )
  }
  checks.push('size')
  if (entry.sha256 !== null) {
    if (digest !== entry.sha256) {
      throw new HubError(
        'hash',
        `${label}: SHA-256 ${digest} is not ${entry.id}'s (expected ${entry.sha256})`
      )
    }
    checks.push('sha256')
  }
  const prefix = hashPrefixOf(entry.url)
  if (prefix !== null) {
    if (!digest.startsWith(prefix)) {
      throw new HubError(
        'hash',
        `${label}: SHA-256 ${digest} does not start with "${prefix}", the hash in ${entry.id}'s file name`
      )
    }
    checks.push('hash-prefix')
  }
  if (entry.format === 'bvlc-npy') {
    try {
      checkBvlcShapes(await readBvlcLayout(path), ALEXNET_BVLC_SHAPES)
    } catch (e) {
      throw new HubError('structure', `${label} is not a BVLC AlexNet weights file: ${(e as Error).message}`)
    }
    checks.push('structure')
  }
  return { sha256: digest, bytes: size, checks }
}
