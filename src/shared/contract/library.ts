// Schemas of the library's request records (queries, imports, splits). Like ./training.ts: the declared
// types in ../types.ts stay the documented source and each schema is checked to match its type exactly.
import { z } from 'zod'
import type { ImageFilter, ImageQuery, ImportRequest, SplitRequest } from '../types'
import { Id, PathString, Seed, type Assert, type Same } from './training'

/** Rows one `library:query` may return. */
export const MAX_PAGE = 1000
/** Ids one request may carry (select-all over a large library): ../limits.ts, sized to fit one frame. */
export { MAX_IDS } from '../limits'
/** Classes one filter may name. */
export const MAX_FILTER_CLASSES = 10_000
/** Images one filter may name (a region of the review's map: the largest library the studio is sized for). */
export const MAX_FILTER_IMAGES = 50_000

export const ImageFilterSchema = z.strictObject({
  classIds: z.array(Id).max(MAX_FILTER_CLASSES).optional(),
  unlabelled: z.boolean().optional(),
  split: z.enum(['train', 'val', 'test', 'none']).optional(),
  search: z.string().max(500).optional(),
  disagreesWithRun: Id.optional(),
  imageIds: z.array(Id).max(MAX_FILTER_IMAGES).optional()
})

const SortSchema = z.strictObject({
  key: z.enum(['id', 'fileName', 'class', 'confidence', 'importedAt']),
  descending: z.boolean().optional()
})

const queryShape = {
  filter: ImageFilterSchema,
  sort: SortSchema.optional(),
  runId: Id.optional()
}

/** Sorting by confidence sorts by a run's predictions, so it needs the run. */
function confidenceNeedsRun(q: { sort?: { key: string }; runId?: number }, ctx: z.RefinementCtx): void {
  if (q.sort?.key === 'confidence' && q.runId === undefined)
    ctx.addIssue({ code: 'custom', path: ['sort', 'key'], message: '"confidence" needs a runId' })
}

export const ImageQuerySchema = z
  .strictObject({
    ...queryShape,
    offset: z.int().min(0),
    limit: z.int().min(1).max(MAX_PAGE)
  })
  .superRefine(confidenceNeedsRun)

/** `library:queryIds`: a query without paging. */
export const IdsQuerySchema = z.strictObject(queryShape).superRefine(confidenceNeedsRun)

export const ImportRequestSchema = z
  .strictObject({
    folder: PathString,
    labels: z.enum(['folders', 'gtsrb-csv', 'none']),
    namesCsv: PathString.optional(),
    annotationsCsv: PathString.optional(),
    cropToRoi: z.boolean().optional()
  })
  .superRefine((r, ctx) => {
    if (r.labels !== 'gtsrb-csv' && (r.annotationsCsv || r.cropToRoi))
      ctx.addIssue({
        code: 'custom',
        path: ['annotationsCsv'],
        message: 'only applies with labels "gtsrb-csv"'
      })
  })

export const SplitRequestSchema = z
  .strictObject({
    val: z.number().min(0).max(1),
    test: z.number().min(0).max(1),
    groupBy: z.enum(['track', 'none']),
    seed: Seed
  })
  .superRefine((s, ctx) => {
    if (s.val + s.test >= 1)
      ctx.addIssue({
        code: 'custom',
        path: ['test'],
        message: 'val + test must be less than 1 (something must be left for training)'
      })
  })

export type LibrarySchemasMatchTypes = [
  Assert<Same<z.output<typeof ImageFilterSchema>, ImageFilter>>,
  Assert<Same<z.output<typeof ImageQuerySchema>, ImageQuery>>,
  Assert<Same<z.output<typeof IdsQuerySchema>, Omit<ImageQuery, 'offset' | 'limit'>>>,
  Assert<Same<z.output<typeof ImportRequestSchema>, ImportRequest>>,
  Assert<Same<z.output<typeof SplitRequestSchema>, SplitRequest>>
]
