// How a run is named wherever one is picked or listed ("Run #3 (Fine-tune)", or with its validation accuracy
// where the choice depends on it), so every picker names runs the same way in every language.
import type { RunSummary } from '@shared/training'

/** vue-i18n's `t`, as far as this helper needs it. */
type Translate = (key: string, values?: Record<string, unknown>) => string

export function runLabel(
  t: Translate,
  run: Pick<RunSummary, 'id' | 'strategy' | 'valAccuracy'>,
  options: { accuracy?: boolean } = {}
): string {
  const name = t(`strategy.${run.strategy}.name`)
  if (!options.accuracy) return t('runLabel.short', { id: run.id, name })
  const acc = run.valAccuracy === null ? '—' : (run.valAccuracy * 100).toFixed(1)
  return t('runLabel.withAccuracy', { id: run.id, name, acc })
}
