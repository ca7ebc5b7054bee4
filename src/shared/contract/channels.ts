// One argument schema per channel of the IPC contract: what `invoke(channel, args)` may carry. The handlers'
// argument types are inferred from these schemas (../ipc.ts `HandlerArgs`), and the backend parses every
// request with them before a service sees it (src/main/backend/parse.ts), so a schema and its handler cannot
// disagree. ../ipc.ts checks at compile time that this map has exactly one entry per channel.
//
// Why zod 4 and not valibot: both are maintained and neither reaches the renderer's or the preload's bundle
// (only types are imported there); zod is the more widely used and reviewed of the two, its strict objects,
// integer type and issue paths are what the boundary needs, and its size only matters in the main process.
import { z } from 'zod'
import { MAX_BASE64 } from '../limits'
import { IdsQuerySchema, ImageQuerySchema, ImportRequestSchema, MAX_IDS, SplitRequestSchema } from './library'
import { BaseModelSchema, HubId, Id, PathString, StrategySchema, TrainConfigSchema, idList } from './training'

/** Files one `training:predict` may carry. */
export const MAX_PREDICT_FILES = 1000
export { MAX_BASE64 }

/** The id `POST /upload` answers with (src/main/uploads/uploadStore.ts). */
export const UploadId = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, { message: 'must be an upload id' })

const NoArgs = z.strictObject({})
const ClassName = z.string().trim().min(1).max(200)
const RunArgs = z.strictObject({ runId: Id })
const ConfigArgs = z.strictObject({ config: TrainConfigSchema })
const ExportArgs = z.strictObject({ runId: Id, outDir: PathString })

const PredictFile = z.union([
  z.strictObject({ path: PathString }),
  z.strictObject({
    name: z.string().trim().min(1).max(1000),
    dataBase64: z
      .string()
      .min(1)
      .max(MAX_BASE64)
      .regex(/^[A-Za-z0-9+/]*={0,2}$/, { message: 'must be base64' })
  }),
  // A file sent to `serve` with `POST /upload` first (browsers): its id, and the name to show.
  z.strictObject({ upload: UploadId, name: z.string().trim().min(1).max(1000) })
])

export const CHANNEL_SCHEMAS = {
  // Project lifecycle.
  'project:create': z.strictObject({ path: PathString }),
  'project:open': z.strictObject({ path: PathString }),
  'project:current': NoArgs,
  'project:recent': NoArgs,

  // Import, browse and label.
  'library:import': ImportRequestSchema,
  'library:cancelImport': z.strictObject({ importId: Id }),
  'library:query': ImageQuerySchema,
  'library:queryIds': IdsQuerySchema,
  'library:image': z.strictObject({ id: Id }),
  'library:stats': NoArgs,
  'library:setLabel': z.strictObject({
    imageIds: idList(MAX_IDS),
    classId: Id.nullable()
  }),
  'library:undo': NoArgs,
  'library:redo': NoArgs,
  'library:undoState': NoArgs,
  'library:split': SplitRequestSchema,

  // The class manager.
  'classes:list': NoArgs,
  'classes:add': z.strictObject({ name: ClassName, key: ClassName.optional() }),
  'classes:rename': z.strictObject({ id: Id, name: ClassName }),
  'classes:merge': z.strictObject({ sourceId: Id, targetId: Id }),
  'classes:delete': z.strictObject({ id: Id, reassignTo: Id.nullable() }),

  // Training runs.
  'training:defaults': z.strictObject({ strategy: StrategySchema, base: BaseModelSchema.optional() }),
  'training:recommend': z.strictObject({
    imagesPerClass: z.int().min(0),
    similar: z.boolean(),
    /** Images per class from which a data set counts as large. */
    threshold: z.int().min(1).default(500)
  }),
  'training:start': ConfigArgs,
  'training:cancel': RunArgs,
  'training:resume': RunArgs,
  'training:list': NoArgs,
  'training:get': RunArgs,
  'training:running': NoArgs,
  'training:history': RunArgs,
  'training:evaluate': RunArgs,
  'training:evaluation': RunArgs,
  'training:export': ExportArgs,

  // The studio around the runs: base checks, estimates, prediction, export preview; the system and dialogs.
  // The strategy, when given, is checked too: a base that does not fit it is refused here, not at start.
  'training:validateBase': z.strictObject({ base: BaseModelSchema, strategy: StrategySchema.optional() }),

  // The model hub.
  'hub:list': NoArgs,
  'hub:download': z.strictObject({ id: HubId }),
  'hub:cancelDownload': z.strictObject({ id: HubId }),
  'hub:remove': z.strictObject({ id: HubId }),
  'training:estimate': ConfigArgs,
  'training:predict': z.strictObject({
    runId: Id,
    files: z.array(PredictFile).min(1).max(MAX_PREDICT_FILES),
    /** Classes per file, most probable first. */
    top: z.int().min(1).max(100).default(5)
  }),
  'training:exportPreview': ExportArgs,
  // The data review (src/shared/review.ts).
  'review:start': z.strictObject({
    /** A hub model or feature-extraction base: a head on its cached features per fold (much faster). */
    base: BaseModelSchema.optional(),
    folds: z.int().min(2).max(10).default(3),
    /** Epochs per fold model; default: the review's short recipe for the engine. */
    epochs: z.int().min(1).max(100).optional(),
    /** Cosine similarity from which two images count as near-duplicates. */
    duplicateThreshold: z.number().min(0.5).max(1).default(0.97),
    seed: z
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(42)
  }),
  'review:cancel': NoArgs,
  'review:result': NoArgs,
  'review:decide': z.strictObject({
    imageId: Id,
    decision: z.enum(['accept', 'keep']),
    /** The class to relabel to (`accept`); ignored for `keep`. */
    classId: Id.nullable().default(null)
  }),
  'system:info': NoArgs,
  'system:doctor': NoArgs,
  'dialog:open': z.strictObject({
    kind: z.enum(['file', 'folder']),
    title: z.string().max(200).optional(),
    filters: z
      .array(
        z.strictObject({
          name: z.string().max(200),
          extensions: z.array(z.string().max(20)).max(100)
        })
      )
      .max(50)
      .optional(),
    multiple: z.boolean().optional()
  })
}

export type ChannelSchemas = typeof CHANNEL_SCHEMAS
/** What a client sends on `channel`. */
export type ChannelArgs<C extends keyof ChannelSchemas> = z.input<ChannelSchemas[C]>
/** What the handler of `channel` receives once the schema accepted the request. */
export type ParsedArgs<C extends keyof ChannelSchemas> = z.output<ChannelSchemas[C]>
