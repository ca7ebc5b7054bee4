// One typed event emitter for the whole app (backend events, service events, the WebSocket client). Written
// by hand because it is a dozen lines: Node's EventEmitter is untyped and missing in the renderer, and the
// small typed libraries (mitt, nanoevents) either return no unsubscribe function or isolate no listener.
// Each `on` returns its unsubscribe function; one listener that throws is logged and does not stop the others.

export interface Emitter<Events extends object> {
  /** Subscribe; returns the unsubscribe function. */
  on<E extends keyof Events>(event: E, listener: (payload: Events[E]) => void): () => void
  emit<E extends keyof Events>(event: E, payload: Events[E]): void
  /** Number of listeners of `event` (for tests and for skipping work no one listens to). */
  listenerCount(event: keyof Events): number
  /** Drop every listener. */
  clear(): void
}

export function createEmitter<Events extends object>(): Emitter<Events> {
  const listeners = new Map<keyof Events, Set<(payload: never) => void>>()
  return {
    on(event, listener) {
      let set = listeners.get(event)
      if (!set) listeners.set(event, (set = new Set()))
      const l = listener as (payload: never) => void
      set.add(l)
      return () => void set.delete(l)
    },
    emit(event, payload) {
      // A copy, so a listener may unsubscribe itself (or subscribe another) while the event is delivered.
      for (const l of [...(listeners.get(event) ?? [])]) {
        try {
          ;(l as (p: typeof payload) => void)(payload)
        } catch (err) {
          console.error(`listener for ${String(event)} failed:`, err)
        }
      }
    },
    listenerCount: (event) => listeners.get(event)?.size ?? 0,
    clear: () => listeners.clear()
  }
}
