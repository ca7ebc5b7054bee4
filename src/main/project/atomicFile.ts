// Writing a file so that a crash or a concurrent reader never sees half of it: write it beside its place,
// then rename it over (a rename within one file system is atomic). The temporary name carries the pid, so
// two processes writing the same file (the app and the CLI on one project) never share a temporary file.
import { renameSync, rmSync, writeFileSync } from 'node:fs'
import { rename, rm, writeFile } from 'node:fs/promises'

const tmpOf = (path: string): string => `${path}.${process.pid}.tmp`

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = tmpOf(path)
  try {
    await writeFile(tmp, data)
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
}

/** The same for the few writes that must finish before the caller returns (small JSON records). */
export function writeFileAtomicSync(path: string, data: string | Uint8Array): void {
  const tmp = tmpOf(path)
  try {
    writeFileSync(tmp, data)
    renameSync(tmp, path)
  } catch (err) {
    rmSync(tmp, { force: true })
    throw err
  }
}
