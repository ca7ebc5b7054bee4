// Which top-level view is on screen (Library | Train | Runs | Predict), and which run the results view
// shows. The library view stays mounted while hidden, so its filter, scroll and focus survive a visit.
import { defineStore } from 'pinia'
import { ref } from 'vue'

export type StudioView = 'library' | 'train' | 'runs' | 'predict' | 'review'
export const STUDIO_VIEWS: readonly StudioView[] = ['library', 'review', 'train', 'runs', 'predict']

export const useNavStore = defineStore('nav', () => {
  /** The view on screen. */
  const view = ref<StudioView>('library')
  /** Inside Train: the wizard, or the dashboard of the watched run. */
  const trainPane = ref<'wizard' | 'dashboard'>('wizard')
  /** Inside Runs: the run whose evaluation is open (null = the table). */
  const resultRunId = ref<number | null>(null)

  function go(next: StudioView): void {
    view.value = next
  }
  function showDashboard(): void {
    view.value = 'train'
    trainPane.value = 'dashboard'
  }
  function showResult(runId: number | null): void {
    view.value = 'runs'
    resultRunId.value = runId
  }
  function reset(): void {
    view.value = 'library'
    trainPane.value = 'wizard'
    resultRunId.value = null
  }
  return { view, trainPane, resultRunId, go, showDashboard, showResult, reset }
})
