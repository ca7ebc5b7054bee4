// What users decided in the review queue (the `review_decisions` table, src/main/db/migrations.ts): per
// image, `keep` or `accept` and the class the image had once decided. A review leaves an image out while
// its label is still that class, so a kept label is not suggested again; a later relabel (or an undo of the
// accept) makes it a candidate again. Writes go through the IMMEDIATE `transaction()` helper.
import { transaction, type Db } from '../db/database'
import type { ReviewDecision } from '../../shared/review'

export interface DecisionsRepo {
  /** Remember a decision about `imageId`, whose label is (now) `classId`; replaces an earlier one. */
  record(imageId: number, decision: ReviewDecision, classId: number): void
  /** Image id -> the class it was decided for. */
  decided(): Map<number, { decision: ReviewDecision; classId: number }>
}

export function createDecisionsRepo(db: Db): DecisionsRepo {
  const upsert = db.prepare(
    `INSERT INTO review_decisions (image_id, decision, class_id, decided_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (image_id) DO UPDATE SET decision = excluded.decision, class_id = excluded.class_id,
     decided_at = excluded.decided_at`
  )
  const all = db.prepare('SELECT image_id AS imageId, decision, class_id AS classId FROM review_decisions')
  return {
    record(imageId, decision, classId) {
      transaction(db, () => upsert.run(imageId, decision, classId, new Date().toISOString()))
    },
    decided() {
      const rows = all.all() as { imageId: number; decision: ReviewDecision; classId: number }[]
      return new Map(rows.map((r) => [r.imageId, { decision: r.decision, classId: r.classId }]))
    }
  }
}
