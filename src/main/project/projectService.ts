// Project lifecycle: create, open and close project files, and the recent-projects list (a small JSON
// file in the app's data folder). Holds the one open database and hands it to the other services.
// A file nobody may write (permissions, a read-only disk) opens read-only: every write then fails with
// SQLITE_READONLY, which errors/userError.ts words as "the project is open read-only ...". An empty file is
// refused, not turned into a new project (SQLite would happily treat 0 bytes as an empty database).
import {
  accessSync,
  chmodSync,
  constants,
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  type Stats
} from 'node:fs'
import { basename, dirname, extname, join, resolve } from 'node:path'
import { createHash } from 'node:crypto'
import Database from 'better-sqlite3'
import type { ProjectInfo, RecentProject } from '../../shared/types'
import { migrate, openDatabase, schemaVersion, SCHEMA_VERSION, type Db } from '../db/database'
import { createRepository, type Repository } from '../db/libraryRepo'
import { createEmitter } from '../../shared/emitter'
import { thumbnailDir } from './paths'
import { writeFileAtomicSync } from './atomicFile'
import { reasonOf } from '../errors/userError'
import { messageError } from '../errors'

const MAX_RECENT = 10

/**
 * A project file's identity for media URLs: its device, inode and creation time, so a project deleted and
 * created again at the same path (or another project whose ids also start at 1) gets another key.
 */
function mediaKey(file: string): string {
  const st = statSync(file, { bigint: true })
  const birth = st.birthtimeNs > 0n ? st.birthtimeNs : st.ctimeNs
  return createHash('sha1').update(`${st.dev}:${st.ino}:${birth}:${file}`).digest('hex').slice(0, 16)
}

export interface OpenProject {
  info: ProjectInfo
  db: Db
  repo: Repository
  /** Why the project is open read-only (`the file's permissions do not allow changes`), or null. */
  readOnly: string | null
}

export class ProjectService {
  private open: OpenProject | null = null
  private readonly recentFile: string
  private readonly events = createEmitter<{ change: OpenProject | null }>()

  constructor(private readonly dataDir: string) {
    mkdirSync(dataDir, { recursive: true })
    this.recentFile = join(dataDir, 'recent-projects.json')
  }

  /** Called with the new project (or null) whenever the open project changes. */
  onDidChange(listener: (project: OpenProject | null) => void): () => void {
    return this.events.on('change', listener)
  }

  create(path: string): ProjectInfo {
    const file = resolve(path)
    if (existsSync(file)) throw messageError('project.exists', { path: file })
    mkdirSync(dirname(file), { recursive: true })
    return this.load(file, false)
  }

  openProject(path: string): ProjectInfo {
    const file = resolve(path)
    const st = statSync(file, { throwIfNoEntry: false })
    if (!st) throw messageError('project.notFound', { path: file })
    if (!st.isFile()) throw messageError('project.isFolder', { path: file })
    // A project file always holds at least its header page; 0 bytes is a placeholder or a failed copy.
    // (A file whose pages are all still in its -wal cannot be 0 bytes: SQLite writes the header first.)
    if (st.size === 0) throw messageError('project.emptyFile', { path: file })
    return this.load(file, true, readOnlyReason(file, st))
  }

  /** Why the open project is read-only, or null when it is writable (or none is open). */
  readOnly(): string | null {
    return this.open?.readOnly ?? null
  }

  /** The open project, or throws the error every library call shows when none is open. */
  require(): OpenProject {
    if (!this.open) throw messageError('project.noneOpen')
    return this.open
  }

  current(): ProjectInfo | null {
    return this.open?.info ?? null
  }

  recent(): RecentProject[] {
    return this.readRecent().map((r) => ({ ...r, exists: existsSync(r.path) }))
  }

  close(): void {
    if (!this.open) return
    this.closeDb()
    this.events.emit('change', null)
  }

  private closeDb(): void {
    this.open?.db.close()
    this.open = null
  }

  private load(file: string, mustExist: boolean, readOnly: string | null = null): ProjectInfo {
    let db: Db
    try {
      if (!readOnly) ownerMayWriteCompanions(file)
      db = readOnly ? openReadOnly(file) : openDatabase(file, { mustExist })
    } catch (err) {
      // The SQLite or fs error's own words ("file is not a database") become a sentence for the user.
      throw messageError('project.cannotOpen', { path: file, ...reasonOf(err) })
    }
    // Switching projects is one change for listeners, not a close followed by an open.
    this.closeDb()
    const thumbs = thumbnailDir(file)
    try {
      mkdirSync(thumbs, { recursive: true })
    } catch (err) {
      // Beside a read-only file the folder may be read-only too: the project still opens, uncached.
      if (!readOnly) {
        db.close()
        throw err
      }
    }
    const info: ProjectInfo = {
      path: file,
      name: basename(file, extname(file)),
      schemaVersion: schemaVersion(db),
      thumbnailDir: thumbs,
      readOnly: readOnly !== null,
      mediaKey: mediaKey(file)
    }
    this.open = { info, db, repo: createRepository(db), readOnly }
    // A read-only file cannot be marked; its `running` imports stay as they are until it is opened writable.
    if (!readOnly) this.open.repo.markInterruptedImports()
    this.remember(info)
    this.events.emit('change', this.open)
    return info
  }

  private readRecent(): Omit<RecentProject, 'exists'>[] {
    try {
      const list = JSON.parse(readFileSync(this.recentFile, 'utf8')) as unknown
      if (!Array.isArray(list)) return []
      return list.filter(
        (r): r is Omit<RecentProject, 'exists'> =>
          typeof r?.path === 'string' && typeof r?.name === 'string' && typeof r?.openedAt === 'string'
      )
    } catch {
      return [] // a missing or damaged list is not worth failing over
    }
  }

  private remember(info: ProjectInfo): void {
    const list = this.readRecent().filter((r) => r.path !== info.path)
    list.unshift({ path: info.path, name: info.name, openedAt: new Date().toISOString() })
    writeFileAtomicSync(this.recentFile, JSON.stringify(list.slice(0, MAX_RECENT), null, 2))
  }
}

/**
 * Why `file` cannot be written, or null. The mode bits are checked as well as access(2): root may write a
 * 0444 file, and a project whose owner made it read-only is opened read-only whoever opens it.
 */
function readOnlyReason(file: string, st: Stats): string | null {
  if ((st.mode & 0o222) === 0) return "the file's permissions do not allow changes"
  try {
    accessSync(file, constants.W_OK)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return code === 'EROFS' ? 'the file is on a read-only disk' : 'this user may not change the file'
  }
  return null
}

/**
 * Open a project that cannot be written: SQLite's read-only mode, the same checks as `openDatabase` (not
 * another app's file, not newer than this app) and no migration, which would have to write.
 */
function openReadOnly(file: string): Db {
  const db = new Database(file, { readonly: true, fileMustExist: true })
  try {
    db.pragma('foreign_keys = ON')
    db.pragma('busy_timeout = 5000')
    const version = schemaVersion(db)
    migrate(db, version) // target = the file's own version: checks only
    // That first read made the -wal and -shm files, with the project's read-only mode: see below.
    ownerMayWriteCompanions(file)
    if (version === 0) throw messageError('project.emptyReadOnly')
    if (version < SCHEMA_VERSION)
      throw messageError('project.upgradeReadOnly', { target: SCHEMA_VERSION, version })
  } catch (err) {
    db.close()
    throw err
  }
  return db
}

/**
 * SQLite makes `-wal` and `-shm` with the project file's own mode, so a read-only open of a 0444 project
 * leaves 0444 companions behind, and once the user makes the project writable again every write fails with
 * SQLITE_READONLY. Those of this user get their owner's write bit back (they let nobody change the project:
 * its own mode still does that); others' and root's are left as they are.
 */
function ownerMayWriteCompanions(file: string): void {
  const uid = process.getuid?.()
  if (uid === undefined) return // Windows: no mode bits to repair
  for (const companion of [`${file}-wal`, `${file}-shm`]) {
    try {
      const st = statSync(companion)
      if (st.isFile() && st.uid === uid && (st.mode & 0o200) === 0)
        chmodSync(companion, (st.mode & 0o777) | 0o200)
    } catch {
      // Missing (the usual case after a clean close), or not ours to change: SQLite says so if it matters.
    }
  }
}
