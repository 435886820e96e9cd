/**
 * Coalesces concurrent loads of one key into one, and knows when a write made a load stale.
 *
 * A load that started before a write to its key may resolve after it, with the older value; that
 * value must neither be returned nor cached as if it were current. A write therefore calls
 * `invalidate(id)`; the load then runs again (it reads the newer state) instead of resolving, up to
 * `maxAttempts` times, so a key written without pause cannot starve its readers.
 */
export interface FlightResult<T> {
  readonly value: T;
  /** False when writes kept invalidating the load and the attempts ran out: do not cache `value`. */
  readonly fresh: boolean;
}

interface Flight<T> {
  stale: boolean;
  readonly promise: Promise<FlightResult<T>>;
}

export class SingleFlight<T> {
  readonly #flights = new Map<string, Flight<T>>();
  readonly #maxAttempts: number;

  constructor(options: { readonly maxAttempts?: number } = {}) {
    this.#maxAttempts = options.maxAttempts ?? 5;
  }

  /**
   * Joins the load of `id` in flight, or starts `load` for it. `onFresh` runs with a result no write
   * overtook, in the same tick as that check, so no write can slip in between (e.g. to cache it).
   */
  run(id: string, load: () => Promise<T>, onFresh?: (value: T) => void): Promise<FlightResult<T>> {
    const current = this.#flights.get(id);
    if (current !== undefined) return current.promise;
    const flight: { stale: boolean; promise?: Promise<FlightResult<T>> } = { stale: false };
    // Registered before `load` starts, so a write during its synchronous part invalidates it too.
    this.#flights.set(id, flight as Flight<T>);
    flight.promise = this.#fly(flight, load, onFresh).finally(() => {
      if (this.#flights.get(id) === flight) this.#flights.delete(id);
    });
    return flight.promise;
  }

  /** A write to `id` happened: a load in flight may have read the state before it. */
  invalidate(id: string): void {
    const flight = this.#flights.get(id);
    if (flight !== undefined) flight.stale = true;
  }

  /** Loads in flight; for tests and metrics. */
  get size(): number {
    return this.#flights.size;
  }

  async #fly(flight: { stale: boolean }, load: () => Promise<T>, onFresh: ((value: T) => void) | undefined): Promise<FlightResult<T>> {
    for (let attempt = 1; ; attempt++) {
      flight.stale = false;
      const value = await load();
      if (!flight.stale) {
        onFresh?.(value);
        return { value, fresh: true };
      }
      if (attempt >= this.#maxAttempts) return { value, fresh: false };
    }
  }
}
