// The request bytes every Kafka connection holds at once, as one budget: a connection reserves a
// frame's size as soon as it reads the size prefix (before the bytes arrive) and gives it back when
// the request is answered. A reservation that does not fit waits, first come first served, and the
// connection stops reading meanwhile: memory stays bounded however many clients send at once.

export class ByteBudget {
  readonly capacity: number;
  #used = 0;
  readonly #waiting: Array<{ bytes: number; grant: () => void }> = [];

  constructor(capacity: number) {
    if (!(capacity > 0)) throw new Error('a byte budget needs a positive capacity');
    this.capacity = capacity;
  }

  get used(): number {
    return this.#used;
  }

  /** Takes `bytes` now when they fit and nobody waits before; else false (call wait()). */
  tryReserve(bytes: number): boolean {
    if (bytes > this.capacity) throw new Error(`a reservation of ${bytes} bytes can never fit a budget of ${this.capacity}`);
    if (this.#waiting.length > 0 || this.#used + bytes > this.capacity) return false;
    this.#used += bytes;
    return true;
  }

  /** Calls `grant` once `bytes` are reserved for the caller; the returned function withdraws the wait. */
  wait(bytes: number, grant: () => void): () => void {
    const entry = { bytes, grant };
    this.#waiting.push(entry);
    this.#wake();
    return () => {
      const at = this.#waiting.indexOf(entry);
      if (at >= 0) this.#waiting.splice(at, 1);
      this.#wake();
    };
  }

  release(bytes: number): void {
    this.#used -= bytes;
    if (this.#used < 0) throw new Error('byte budget released more than was reserved');
    this.#wake();
  }

  #wake(): void {
    while (this.#waiting.length > 0 && this.#used + this.#waiting[0]!.bytes <= this.capacity) {
      const next = this.#waiting.shift()!;
      this.#used += next.bytes;
      next.grant();
    }
  }
}
