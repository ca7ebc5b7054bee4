// The class manager's channels over LibraryService: parse (names arrive trimmed), then one call each.
import type { ClassResults } from '../../shared/ipc'
import type { LibraryService } from '../library/libraryService'
import { defineHandlers } from './parse'

export function createClassHandlers(deps: { library: LibraryService }) {
  const { library } = deps
  return defineHandlers<keyof ClassResults>({
    'classes:list': () => library.listClasses(),
    'classes:add': ({ name, key }) => library.addClass(name, key),
    'classes:rename': ({ id, name }) => library.renameClass(id, name),
    'classes:merge': ({ sourceId, targetId }) => library.mergeClasses(sourceId, targetId),
    'classes:delete': ({ id, reassignTo }) => library.deleteClass(id, reassignTo)
  })
}
