import type { CoordinatorEvent, CoordinatorListener } from './coordinator.js';

/** The engines' event fan-out: a library emits events, the service decides what to log. */
export class Listeners {
  readonly #listeners = new Set<CoordinatorListener>();

  add(listener: CoordinatorListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  emit(event: CoordinatorEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A listener that throws must not break the coordinator's own bookkeeping.
      }
    }
  }
}
