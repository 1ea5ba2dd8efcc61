/**
 * Found by the HTTP fuzz (issue #10): a request whose body the broker refuses unread (over the size
 * limit, over a body budget, or sent to an unknown route) lost its answer to a reset about half the
 * time: the broker closed the socket with the rest of the body still in its receive buffer, so the
 * client saw EPIPE instead of a 413 or 404 (RFC 9112 §9.6 asks servers to linger). Against a real
 * broker process: the client always reads the answer, and the broker stays up and bounded.
 */
import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import { brokerLifecycle } from '../support.js';
import { StatsSampler } from '../harness/index.js';

const MiB = 1024 * 1024;
const ATTEMPTS = 20;

describe('a body refused unread', () => {
  const startBroker = brokerLifecycle();

  it('still lets the client read the answer: the broker lingers before it closes', async () => {
    const broker = await startBroker({ env: { STRATA_MAX_REQUEST_BYTES: String(2 * MiB) } });
    expect((await broker.http.post('/v1/topics', { name: 'refused', partitions: 1 })).status).toBe(201);
    const sampler = new StatsSampler(broker.pid!);
    const outcomes: string[] = [];
    for (let i = 0; i < ATTEMPTS; i++) {
      const path = i % 2 === 0 ? '/v1/topics/refused/partitions/0/batches' : `/v1/no-such-route-${i}`;
      try {
        const answer = await request(broker.url + path, {
          method: 'POST',
          headers: { 'content-type': 'application/vnd.kafka.record-batch' },
          body: Buffer.alloc(8 * MiB, 1),
        });
        const body = (await answer.body.json()) as { error?: { code?: string } };
        outcomes.push(`${answer.statusCode} ${body.error?.code ?? ''}`);
      } catch (e) {
        outcomes.push(String((e as { code?: string }).code ?? (e as Error).message));
      }
    }
    const peak = sampler.stop();
    process.stdout.write(`[refused-bodies] peak RSS ${Math.round(peak.rssBytes / MiB)} MiB, ${peak.openFds} fds\n`);
    expect(outcomes).toEqual(Array.from({ length: ATTEMPTS }, (_, i) => (i % 2 === 0 ? '413 MESSAGE_TOO_LARGE' : '404 NOT_FOUND')));
    // Nothing of the refused bodies was kept, and the lingering sockets are gone again.
    expect(peak.rssBytes).toBeLessThan(400 * MiB);
    expect((await broker.http.get('/readyz')).status).toBe(200);
  });
});
