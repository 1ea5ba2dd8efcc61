/** Keeps the last `limitBytes` of a stream of chunks (a child's output), dropping the oldest. */
export class RingBuffer {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private dropped = 0;

  constructor(private readonly limitBytes = 256 * 1024) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.bytes > this.limitBytes && this.chunks.length > 1) {
      const oldest = this.chunks.shift() as Buffer;
      this.bytes -= oldest.length;
      this.dropped += oldest.length;
    }
  }

  toString(): string {
    const text = Buffer.concat(this.chunks).toString('utf8');
    return this.dropped > 0 ? `[... ${this.dropped} earlier bytes dropped ...]\n${text}` : text;
  }
}
