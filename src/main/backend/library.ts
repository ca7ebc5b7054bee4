// The library channels (import, browse, label, undo, split) over LibraryService: parse, then one call each.
import type { LibraryResults } from '../../shared/ipc'
import type { LibraryService } from '../library/libraryService'
import { defineHandlers } from './parse'

export function createLibraryHandlers(deps: { library: LibraryService }) {
  const { library } = deps
  return defineHandlers<keyof LibraryResults>({
    'library:import': (req) => library.import(req),
    'library:cancelImport': ({ importId }) => library.cancelImport(importId),
    'library:query': (query) => library.query(query),
    'library:queryIds': (query) => ({ ids: library.queryIds(query) }),
    'library:image': ({ id }) => library.image(id),
    'library:stats': () => library.stats(),
    'library:setLabel': ({ imageIds, classId }) => library.setLabel(imageIds, classId),
    'library:undo': () => library.undo(),
    'library:redo': () => library.redo(),
    'library:undoState': () => library.undoState(),
    'library:split': (req) => library.split(req)
  })
}
