// Kafka's "consumer" protocol type's member metadata (ConsumerProtocolSubscription): int16 version,
// then the subscribed topics as an array of int16-prefixed strings (what follows, user data and
// owned partitions, is not needed here). Read defensively: the bytes are the client's.

/** The topics a consumer's subscription metadata names, or null when the bytes are not one. */
export function consumerSubscription(metadata: Buffer): string[] | null {
  if (metadata.length < 6) return null;
  const count = metadata.readInt32BE(2);
  if (count < 0 || count > metadata.length) return null;
  const topics: string[] = [];
  let at = 6;
  for (let i = 0; i < count; i++) {
    if (at + 2 > metadata.length) return null;
    const length = metadata.readInt16BE(at);
    at += 2;
    if (length < 0 || at + length > metadata.length) return null;
    topics.push(metadata.toString('utf8', at, at + length));
    at += length;
  }
  return topics;
}
