// The model hub's one door: the service, the catalogue helpers and the types callers need.
export {
  ModelHubService,
  type DownloadProgress,
  type DownloadResult,
  type ImportResult,
  type ModelHub,
  type ModelHubOptions,
  type ModelListing
} from './hubService'
export {
  CatalogueEntrySchema,
  builtinCatalogue,
  hashPrefixOf,
  loadCatalogue,
  parseCatalogue,
  readCatalogueFile,
  type CatalogueEntry
} from './catalogue'
export { HubError, type HubErrorCode } from './errors'
export { baseInfoOf, baseOfEntry } from './base'
export { modelCacheDir, modelPaths } from './paths'
