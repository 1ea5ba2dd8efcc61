// Failed logins per source address, in a table of bounded size: past `failuresMax` failures within
// `windowMs`, an address is refused without its credentials being checked (no PBKDF2 spent on a
// guesser) until its window ends. The table holds at most `sourcesMax` addresses; when full, the
// address whose window started first is forgotten (a Map keeps insertion order, and an address is
// re-inserted when its window restarts), so a flood from many addresses costs bounded memory and a
// flood from one address costs one entry.

export interface FailedLoginLimits {
  failuresMax: number;
  windowMs: number;
  sourcesMax: number;
}

interface Window {
  startedAtMs: number;
  failures: number;
}

export class FailedLogins {
  readonly #limits: FailedLoginLimits;
  readonly #now: () => number;
  readonly #windows = new Map<string, Window>();

  constructor(limits: FailedLoginLimits, now: () => number = Date.now) {
    this.#limits = limits;
    this.#now = now;
  }

  /** Addresses remembered now (at most sourcesMax). */
  get size(): number {
    return this.#windows.size;
  }

  /** Whether this address is refused now (too many failures in its current window). */
  refused(source: string): boolean {
    const w = this.#current(source);
    return w !== undefined && w.failures >= this.#limits.failuresMax;
  }

  /** Counts one failed login of this address; true when this one reached the limit (the address is refused from now on). */
  record(source: string): boolean {
    const w = this.#current(source);
    if (w !== undefined) {
      w.failures++;
      return w.failures === this.#limits.failuresMax;
    }
    if (this.#windows.size >= this.#limits.sourcesMax) this.#windows.delete(this.#windows.keys().next().value!);
    this.#windows.set(source, { startedAtMs: this.#now(), failures: 1 });
    return this.#limits.failuresMax === 1;
  }

  /** The address' window if it is still open (an ended one is forgotten). */
  #current(source: string): Window | undefined {
    const w = this.#windows.get(source);
    if (w === undefined) return undefined;
    if (this.#now() - w.startedAtMs < this.#limits.windowMs) return w;
    this.#windows.delete(source);
    return undefined;
  }
}
