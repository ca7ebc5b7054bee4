// Project lifecycle: create, open and close project files, and the recent-projects list (a small JSON
// file in the app's data folder). Holds the one open database and hands it to the other services.
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { basename, dirname, extname, join, resolve } from 'node:path'
import type { ProjectInfo, RecentProject } from '../../shared/types'
import { openDatabase, schemaVersion, type Db } from '../db/database'
import { createRepository, type Repository } from '../db/libraryRepo'
import { createEmitter } from '../../shared/emitter'
import { thumbnailDir } from './paths'
import { writeFileAtomicSync } from './atomicFile'

const MAX_RECENT = 10

export interface OpenProject {
  info: ProjectInfo
  db: Db
  repo: Repository
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
    if (existsSync(file)) throw new Error(`a file already exists at ${file}; open it or choose another name`)
    mkdirSync(dirname(file), { recursive: true })
    return this.load(file, false)
  }

  openProject(path: string): ProjectInfo {
    const file = resolve(path)
    if (!existsSync(file)) throw new Error(`project file not found: ${file}`)
    return this.load(file, true)
  }

  /** The open project, or throws the error every library call shows when none is open. */
  require(): OpenProject {
    if (!this.open) throw new Error('no project is open: create or open a project first')
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

  private load(file: string, mustExist: boolean): ProjectInfo {
    let db: Db
    try {
      db = openDatabase(file, { mustExist })
    } catch (err) {
      throw new Error(`cannot open project ${file}: ${(err as Error).message}`)
    }
    // Switching projects is one change for listeners, not a close followed by an open.
    this.closeDb()
    const thumbs = thumbnailDir(file)
    mkdirSync(thumbs, { recursive: true })
    const info: ProjectInfo = {
      path: file,
      name: basename(file, extname(file)),
      schemaVersion: schemaVersion(db),
      thumbnailDir: thumbs
    }
    this.open = { info, db, repo: createRepository(db) }
    this.open.repo.markInterruptedImports()
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
