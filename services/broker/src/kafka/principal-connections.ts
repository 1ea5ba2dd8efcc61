// Connections each principal holds on the Kafka listener, against STRATA_MAX_CONNECTIONS_PER_PRINCIPAL
// (docs/architecture.md#quotas). A connection counts for the principal it is known as: its client
// certificate's from the handshake (mTLS), or the one SASL authenticated, from SaslAuthenticate on.
// A connection that authenticates as another principal moves its count (a seat holds one principal
// at a time); the count is given back when the connection closes. Bounded: one entry per principal
// with a live connection.

export class PrincipalConnections {
  /** 0: no limit. */
  readonly max: number;
  readonly #held = new Map<string, number>();

  constructor(max: number) {
    this.max = max;
  }

  /** Connections `principal` holds now. */
  held(principal: string): number {
    return this.#held.get(principal) ?? 0;
  }

  /** A connection's seat, counted for `principal` if given (false: it is past the limit, nothing counted). */
  seat(principal: string | undefined): PrincipalSeat | null {
    const seat = new PrincipalSeat(this);
    return principal === undefined || seat.move(principal) ? seat : null;
  }

  /** @internal one more connection for `principal`, unless it holds max already. */
  claim(principal: string): boolean {
    const held = this.held(principal) + 1;
    if (this.max > 0 && held > this.max) return false;
    this.#held.set(principal, held);
    return true;
  }

  /** @internal */
  release(principal: string): void {
    const held = this.held(principal) - 1;
    if (held <= 0) this.#held.delete(principal);
    else this.#held.set(principal, held);
  }
}

/** One connection's place in the count. */
export class PrincipalSeat {
  readonly #counts: PrincipalConnections;
  #principal: string | undefined;

  constructor(counts: PrincipalConnections) {
    this.#counts = counts;
  }

  get principal(): string | undefined {
    return this.#principal;
  }

  /** Counts the connection for `principal` instead of the one before; false past the limit (the count stays where it was). */
  move(principal: string): boolean {
    if (principal === this.#principal) return true;
    if (!this.#counts.claim(principal)) return false;
    if (this.#principal !== undefined) this.#counts.release(this.#principal);
    this.#principal = principal;
    return true;
  }

  /** The connection closed. */
  leave(): void {
    if (this.#principal !== undefined) this.#counts.release(this.#principal);
    this.#principal = undefined;
  }
}
