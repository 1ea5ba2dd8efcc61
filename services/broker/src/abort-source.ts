// What the data path is handed to learn that its caller left: anything with a `signal` (an
// AbortController, the HTTP request context, a Kafka request). The signal is read only by a step
// that waits on it (an acks=all wait for the in-sync replicas, a forward to the leader), so a front
// door can make it on first use: most produces never wait, and making an AbortSignal for each of
// them was a measurable share of a single-record produce (issue #11, http/request-abort.ts).

export interface AbortSource {
  /** Aborted when the caller is gone. Read it only where something waits on it. */
  readonly signal: AbortSignal;
}

/** For callers that cannot be aborted. */
export const NEVER_ABORTED: AbortSource = Object.freeze({ signal: new AbortController().signal });
