// snappyjs and lz4js ship no types: the calls the kafkajs codecs of kafkajs-codecs.ts make.
declare module 'snappyjs' {
  const snappy: { compress(input: Uint8Array): Uint8Array; uncompress(input: Uint8Array): Uint8Array };
  export default snappy;
}
declare module 'lz4js' {
  /** LZ4 frames (Kafka's lz4 since magic 1). */
  const lz4: { compress(input: Uint8Array): Uint8Array; decompress(input: Uint8Array): Uint8Array };
  export default lz4;
}
