/**
 * Issue #10, item 4: memory per request and per client, against a real broker process.
 *
 * - 100 connections declare 16 MiB - 1 bodies, send 4 MiB and stall (they held 1.78 GB until
 *   the 300 s timeout): bodies are budgeted (per address, in total) and cut after the body idle
 *   timeout (STRATA_BODY_IDLE_TIMEOUT_MS, short here);
 * - 20 concurrent 12 MB JSON produces (they peaked at 3.2 GB): the per-address budget admits a few
 *   at a time, the rest are refused with 429 and retried, every record is acknowledged once; and 20
 *   of the shape (900,000 tiny records in 12.6 MB) are refused by the record cap;
 * - 10,000 idle connections from one address (they locked everyone out for ~60 s): the address
 *   keeps at most STRATA_MAX_CONNECTIONS_PER_ADDRESS, the excess is closed at once, the held ones
 *   after the headers timeout.
 *
 * Meanwhile another client, from another source address (127.0.0.2: the attacks come from
 * 127.0.0.1 and 127.0.0.10+), keeps being answered. Each test asserts the broker stays up, the RSS
 * and descriptor ceilings, and at the end nothing acknowledged is lost across a restart. Latencies
 * are printed, never asserted (the machine is shared).
 */
import { connect, type Socket } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { Agent, request, setGlobalDispatcher } from 'undici';
import { brokerLifecycle } from '../support.js';
import { ResponsivenessProbe, StatsSampler, processStats, type BrokerProcess } from '../harness/index.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Every HTTP request this file makes through undici (the probe, the checks) comes from 127.0.0.2; the attacks use raw sockets. */
const OTHER_CLIENT = '127.0.0.2';
setGlobalDispatcher(new Agent({ localAddress: OTHER_CLIENT }));

/** Set short here so the stalled bodies and silent connections are cut within the test. */
const BODY_IDLE_TIMEOUT_MS = 2_000;
const HEADERS_TIMEOUT_MS = 4_000;
/** The default under test (config.ts DEFAULTS), repeated for the ceilings below. */
const MAX_CONNECTIONS_PER_ADDRESS = 1_000;

/** Ceilings (the broker alone, at rest, is ~100 MB RSS and ~30 descriptors). */
const STALLED_RSS_CEILING_BYTES = 400 * MiB;
/**
 * JSON produces: the bodies in flight (at most STRATA_BODY_BYTES_IN_FLIGHT, 256 MiB, all admitted
 * when they come from 20 addresses) plus the one being parsed and the garbage of those parsed
 * before it: 3x the budget over a 128 MiB base. Before, 20 of them peaked at 3.2 GB.
 */
const BODY_BYTES_IN_FLIGHT = 256 * MiB;
const JSON_RSS_CEILING_BYTES = 128 * MiB + 3 * BODY_BYTES_IN_FLIGHT;
const IDLE_RSS_CEILING_BYTES = 400 * MiB;
const FD_CEILING = 200;
const IDLE_FD_CEILING = MAX_CONNECTIONS_PER_ADDRESS + 200;

const TOPIC = 'mem';
const JSON_RECORDS_PER_REQUEST = 3_000;
const JSON_VALUE_BYTES = 4_000;

const startBroker = brokerLifecycle();
let broker: BrokerProcess;
/** Offsets acknowledged by the JSON produces, checked after the restart. */
const acknowledged = new Set<number>();

beforeAll(async () => {
  broker = await startBroker({
    env: {
      STRATA_BODY_IDLE_TIMEOUT_MS: String(BODY_IDLE_TIMEOUT_MS),
      STRATA_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      STRATA_LOG_LEVEL: 'warn',
    },
  });
  const created = await broker.http.post('/v1/topics', { name: TOPIC, partitions: 1, configs: { 'max.message.bytes': 16 * MiB - 64 * KiB } });
  expect(created.status).toBe(201);
}, 60_000);

interface Attack {
  probe: ResponsivenessProbe;
  sampler: StatsSampler;
}

function startWatching(): Attack {
  return { probe: new ResponsivenessProbe(`${broker.url}/v1/topics/${TOPIC}`), sampler: new StatsSampler(broker.pid!) };
}

async function stopWatching(name: string, attack: Attack, ceilings: { rssBytes: number; openFds: number }): Promise<void> {
  const probe = await attack.probe.stop();
  const peak = attack.sampler.stop();
  console.log(
    `${name}: other client answered ${probe.answered} (failures ${probe.failures}), p50 ${probe.p50Ms.toFixed(1)} ms, max ${probe.maxMs.toFixed(1)} ms; ` +
      `peak RSS ${(peak.rssBytes / MiB).toFixed(0)} MiB (ceiling ${ceilings.rssBytes / MiB}), peak fds ${peak.openFds} (ceiling ${ceilings.openFds})`,
  );
  expect(broker.running, 'the broker is up').toBe(true);
  expect(probe.answered).toBeGreaterThan(0);
  expect(probe.failures).toBe(0);
  expect(peak.rssBytes).toBeLessThan(ceilings.rssBytes);
  expect(peak.openFds).toBeLessThan(ceilings.openFds);
}

async function openSocket(localAddress: string): Promise<Socket> {
  const socket = connect({ port: broker.port, host: '127.0.0.1', localAddress });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

/** Resolves with the status of the first answer on `socket` (null: closed without one) once the socket closed. */
function outcome(socket: Socket): Promise<number | null> {
  return new Promise((resolve) => {
    let head = '';
    socket.on('data', (chunk: Buffer) => {
      if (head.length < 64) head += chunk.toString('latin1');
    });
    socket.on('error', () => undefined);
    socket.once('close', () => resolve(/^HTTP\/1\.1 (\d{3})/.exec(head) ? Number(head.slice(9, 12)) : null));
  });
}

describe('memory per request and per client (real broker)', () => {
  it('100 connections declaring 16 MiB - 1 bodies and stalling: budgeted, then cut after the body idle timeout', async () => {
    const attack = startWatching();
    // Each sends 4 MiB of its 16 MiB - 1 and stalls: before, that was 100 x 4 MiB resident (and 16 MiB allocated each).
    const STALLED_SENT = Buffer.alloc(4 * MiB, 1);
    const sockets: Socket[] = [];
    const outcomes: Array<Promise<number | null>> = [];
    const started = performance.now();
    // 100 source addresses: the per-address budget alone would stop each at 4; this reaches the broker's total budget.
    for (let i = 0; i < 100; i++) {
      const socket = await openSocket(`127.0.0.${10 + i}`);
      sockets.push(socket);
      outcomes.push(outcome(socket));
    }
    // All at once, so that most arrive while the first admitted still hold the budget.
    for (const socket of sockets) {
      socket.write(
        `POST /v1/topics/${TOPIC}/partitions/0/batches HTTP/1.1\r\nHost: x\r\nContent-Type: application/vnd.kafka.record-batch\r\nContent-Length: ${16 * MiB - 1}\r\n\r\n`,
      );
      socket.write(STALLED_SENT);
    }
    const statuses = await Promise.all(outcomes);
    const elapsedMs = performance.now() - started;
    const count = (status: number | null): number => statuses.filter((s) => s === status).length;
    console.log(`stalled bodies: ${count(429)} refused (429) unread, ${count(503)} cut by the idle timeout (503), ${count(null)} closed without an answer; all closed after ${Math.round(elapsedMs)} ms`);
    // The broker's budget admits 16 of 16 MiB - 1 at once (more over the run, as the cut ones free it); the others are refused unread.
    expect(count(429)).toBeGreaterThan(0);
    expect(count(503)).toBeGreaterThan(0);
    expect(count(429) + count(503) + count(null)).toBe(100);
    await stopWatching('stalled bodies', attack, { rssBytes: STALLED_RSS_CEILING_BYTES, openFds: FD_CEILING });
  }, 60_000);

  it('10,000 idle connections from one address: at most the per-address limit is held, others are still answered, the held ones are cut', async () => {
    const attack = startWatching();
    const held: Socket[] = [];
    let refusedAtOnce = 0;
    const started = performance.now();
    // Bounded: 10,000 attempts, 200 at a time.
    for (let wave = 0; wave < 50; wave++) {
      await Promise.all(
        Array.from({ length: 200 }, async () => {
          let socket: Socket;
          try {
            socket = await openSocket('127.0.0.1');
          } catch {
            refusedAtOnce++;
            return;
          }
          socket.on('error', () => undefined);
          held.push(socket);
        }),
      );
    }
    // Let the broker close the excess, then count what is still open.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const openNow = held.filter((s) => !s.destroyed && s.readyState === 'open').length;
    const { openFds } = processStats(broker.pid!);
    console.log(
      `idle connections: 10,000 attempted in ${Math.round(performance.now() - started)} ms, ${refusedAtOnce} failed to connect, ${openNow} still open as the client sees it, broker fds ${openFds}`,
    );
    // The broker's own count (its descriptors): the client may not have seen every close yet. Also the sampler's peak below.
    expect(openFds).toBeLessThan(MAX_CONNECTIONS_PER_ADDRESS + 100);
    // Another client is served now, while they are held.
    const answer = await request(`${broker.url}/v1/topics/${TOPIC}`);
    await answer.body.text();
    expect(answer.statusCode).toBe(200);
    // The held ones never sent a request: the broker closes them after the headers timeout (its descriptors
    // fall back; the client's view is not used: a connection still in the kernel's accept queue looks open to it).
    const deadline = Date.now() + HEADERS_TIMEOUT_MS + 30_000;
    let fdsAfter = processStats(broker.pid!).openFds;
    while (fdsAfter >= FD_CEILING && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      fdsAfter = processStats(broker.pid!).openFds;
    }
    const stillOpen = held.filter((s) => !s.destroyed && s.readyState !== 'closed').length;
    console.log(
      `idle connections: broker fds ${fdsAfter} after ${Math.round(performance.now() - started)} ms (headers timeout ${HEADERS_TIMEOUT_MS} ms); ${stillOpen} open as the client sees it`,
    );
    expect(fdsAfter).toBeLessThan(FD_CEILING);
    for (const s of held) s.destroy();
    await stopWatching('idle connections', attack, { rssBytes: IDLE_RSS_CEILING_BYTES, openFds: IDLE_FD_CEILING });
  }, 120_000);

  it('20 concurrent 12 MB JSON produces: a few admitted at a time, the rest retried after 429, every record acknowledged once', async () => {
    const attack = startWatching();
    const value = 'v'.repeat(JSON_VALUE_BYTES);
    const body = Buffer.from(JSON.stringify({ records: Array.from({ length: JSON_RECORDS_PER_REQUEST }, (_, i) => ({ key: `k${i}`, value })) }));
    expect(body.length).toBeGreaterThan(12 * 1000 * 1000);
    // The attacker's source address: one address, so its budget (64 MiB) is what admits them.
    const attacker = new Agent({ localAddress: '127.0.0.1' });
    let refused = 0;
    let attempts = 0;
    const produceOne = async (): Promise<number[]> => {
      for (let attempt = 0; attempt < 200; attempt++) {
        attempts++;
        try {
          const answer = await request(`${broker.url}/v1/topics/${TOPIC}/records?acks=1`, {
            method: 'POST',
            dispatcher: attacker,
            headers: { 'content-type': 'application/json' },
            body,
          });
          const text = await answer.body.text();
          if (answer.statusCode === 200) return (JSON.parse(text) as { offsets: Array<{ offset: number }> }).offsets.map((o) => o.offset);
          expect(answer.statusCode, text.slice(0, 300)).toBe(429);
          refused++;
        } catch {
          // Refused while the body was still being sent: the broker closed the connection.
          refused++;
        }
        await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
      }
      throw new Error('not admitted after 200 attempts');
    };
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: 20 }, produceOne));
    console.log(`20 JSON produces of ${(body.length / 1e6).toFixed(1)} MB: all acknowledged after ${Math.round(performance.now() - started)} ms, ${attempts} attempts, ${refused} refused (429 or closed)`);
    for (const offsets of results) {
      expect(offsets).toHaveLength(JSON_RECORDS_PER_REQUEST);
      for (const offset of offsets) {
        expect(acknowledged.has(offset), `offset ${offset} acknowledged twice`).toBe(false);
        acknowledged.add(offset);
      }
    }
    await attacker.close();
    await stopWatching('JSON produces', attack, { rssBytes: JSON_RSS_CEILING_BYTES, openFds: FD_CEILING });
  }, 120_000);

  it("20 concurrent JSON produces of the issue's shape (900,000 tiny records in 12.6 MB) are refused by the record cap", async () => {
    const attack = startWatching();
    const body = Buffer.from(JSON.stringify({ records: Array.from({ length: 900_000 }, () => ({ value: 'x' })) }));
    const attackers = Array.from({ length: 20 }, (_, i) => new Agent({ localAddress: `127.0.0.${10 + i}` }));
    // null: the broker refused it while the body was still being sent, and closed the connection (EPIPE, reset).
    const statuses = await Promise.all(
      attackers.map(async (dispatcher) => {
        try {
          const answer = await request(`${broker.url}/v1/topics/${TOPIC}/records`, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body });
          const text = await answer.body.text();
          if (answer.statusCode === 413) expect(JSON.parse(text).error.message).toContain('STRATA_JSON_PRODUCE_MAX_RECORDS');
          else console.log(`tiny-record JSON produce: ${answer.statusCode} ${text.slice(0, 300)}`);
          return answer.statusCode;
        } catch {
          return null;
        }
      }),
    );
    const count = (status: number | null): number => statuses.filter((s) => s === status).length;
    console.log(`tiny-record JSON produces: ${count(413)} refused by the record cap (413), ${count(429)} by the budget (429), ${count(null)} closed while sending`);
    expect(count(413) + count(429) + count(null)).toBe(20);
    expect(count(413)).toBeGreaterThan(0);
    await Promise.all(attackers.map((a) => a.close()));
    await stopWatching('tiny-record JSON produces', attack, { rssBytes: JSON_RSS_CEILING_BYTES, openFds: FD_CEILING });
  }, 120_000);

  it('nothing acknowledged is lost, and the broker restarts', async () => {
    expect(acknowledged.size).toBe(20 * JSON_RECORDS_PER_REQUEST);
    const end = Math.max(...acknowledged) + 1;
    expect(end).toBe(acknowledged.size); // no gaps: every offset was acknowledged exactly once
    const stopped = await broker.stop();
    expect(stopped.code, 'a graceful stop').toBe(0);
    await broker.restart();
    const latest = await broker.http.get(`/v1/topics/${TOPIC}/partitions/0/offsets`, { query: { at: 'latest' } });
    expect(latest.status).toBe(200);
    expect(Number(latest.body.offset)).toBe(end);
    for (const offset of [0, Math.floor(end / 2), end - 1]) {
      const fetched = await broker.http.get(`/v1/topics/${TOPIC}/partitions/0/records`, { query: { offset, maxRecords: 1 } });
      expect(fetched.status).toBe(200);
      expect(fetched.body.records[0]).toMatchObject({ offset, value: 'v'.repeat(JSON_VALUE_BYTES) });
    }
  }, 60_000);
});
