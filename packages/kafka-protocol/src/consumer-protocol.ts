// Kafka's "consumer" protocol type: the bytes a consumer group's members put in JoinGroup's
// metadata (ConsumerProtocolSubscription) and the leader in SyncGroup's assignments
// (ConsumerProtocolAssignment). The broker treats them as opaque except to show them: which topics
// a member subscribes to, which partitions it was given. Both start with an int16 version and keep
// their first fields in every version; what follows (user data, owned partitions, rack) is not read.
// Read defensively: the bytes are the client's; anything that does not parse is null.

/** The topics a subscription names, or null when the bytes are not one. */
export function consumerSubscriptionTopics(metadata: Buffer): string[] | null {
  const r = new Cursor(metadata, 2);
  const count = r.int32();
  if (count === null || count < 0 || count > metadata.length) return null;
  const topics: string[] = [];
  for (let i = 0; i < count; i++) {
    const t = r.string();
    if (t === null) return null;
    topics.push(t);
  }
  return topics;
}

/** The partitions an assignment gives, by topic, or null when the bytes are not one (an empty buffer: nothing). */
export function consumerAssignmentPartitions(assignment: Buffer): Array<{ topic: string; partitions: number[] }> | null {
  if (assignment.length === 0) return [];
  const r = new Cursor(assignment, 2);
  const topics = r.int32();
  if (topics === null || topics < 0 || topics > assignment.length) return null;
  const out: Array<{ topic: string; partitions: number[] }> = [];
  for (let i = 0; i < topics; i++) {
    const topic = r.string();
    const count = r.int32();
    if (topic === null || count === null || count < 0 || count > assignment.length) return null;
    const partitions: number[] = [];
    for (let j = 0; j < count; j++) {
      const p = r.int32();
      if (p === null) return null;
      partitions.push(p);
    }
    out.push({ topic, partitions: partitions.sort((a, b) => a - b) });
  }
  return out;
}

class Cursor {
  readonly #buf: Buffer;
  #at: number;

  constructor(buf: Buffer, at: number) {
    this.#buf = buf;
    this.#at = at;
  }

  int32(): number | null {
    if (this.#at + 4 > this.#buf.length) return null;
    const v = this.#buf.readInt32BE(this.#at);
    this.#at += 4;
    return v;
  }

  string(): string | null {
    if (this.#at + 2 > this.#buf.length) return null;
    const length = this.#buf.readInt16BE(this.#at);
    this.#at += 2;
    if (length < 0 || this.#at + length > this.#buf.length) return null;
    const s = this.#buf.toString('utf8', this.#at, this.#at + length);
    this.#at += length;
    return s;
  }
}
