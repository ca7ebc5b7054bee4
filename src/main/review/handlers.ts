// The review channels (src/shared/review.ts) over ReviewService: parse, then one call each. Beside the
// service rather than in src/main/backend/ because this slice was added with the review; the composition
// root (backend/index.ts) merges it like the other domains' slices.
import type { ReviewResults } from '../../shared/review'
import { defineHandlers, type HandlerSlice } from '../backend/parse'
import type { ReviewService } from './reviewService'

export function createReviewHandlers(review: ReviewService): HandlerSlice<keyof ReviewResults> {
  return defineHandlers<keyof ReviewResults>({
    'review:start': ({ base, folds, epochs, duplicateThreshold, seed }) =>
      review.start({ base, folds, epochs, duplicateThreshold, seed }),
    'review:cancel': () => ({ cancelled: review.cancel() }),
    'review:result': () => review.result(),
    'review:decide': ({ imageId, decision, classId }) => review.decide(imageId, decision, classId)
  })
}
