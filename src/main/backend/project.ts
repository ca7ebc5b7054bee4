// The project channels over ProjectService: parse, then one call each.
import type { ProjectResults } from '../../shared/ipc'
import type { LibraryService } from '../library/libraryService'
import type { ProjectService } from '../project/projectService'
import { defineHandlers } from './parse'

export function createProjectHandlers(deps: { projects: ProjectService; library: LibraryService }) {
  const { projects, library } = deps
  // The import writes into the open project's database; switching under it would split the import.
  const noImportRunning = (): void => {
    if (library.importing) throw new Error('an import is running; cancel it before switching projects')
  }
  return defineHandlers<keyof ProjectResults>({
    'project:create': ({ path }) => {
      noImportRunning()
      return projects.create(path)
    },
    'project:open': ({ path }) => {
      noImportRunning()
      return projects.openProject(path)
    },
    'project:current': () => projects.current(),
    'project:recent': () => projects.recent()
  })
}
