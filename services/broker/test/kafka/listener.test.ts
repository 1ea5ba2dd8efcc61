// The Kafka listener wired into a broker (broker.ts): on when STRATA_KAFKA_PORT names a port, its
// bound port and advertised address on the Broker object, answering ApiVersions, gone after close();
// off at 0.

import { connect } from 'node:net';
import { once } from 'node:events';
import { ApiKey, decodeResponse, encodeRequest, KafkaError } from '@strata/kafka-protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../helpers.js';

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function apiVersions(port: number): Promise<number> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(Buffer.concat(encodeRequest(ApiKey.ApiVersions, 0, 5, 'test', {})));
  let data = Buffer.alloc(0);
  while (data.length < 4 || data.length < 4 + data.readInt32BE(0)) data = Buffer.concat([data, (await once(socket, 'data'))[0] as Buffer]);
  socket.destroy();
  return decodeResponse(ApiKey.ApiVersions, 0, data.subarray(4, 4 + data.readInt32BE(0))).body.errorCode;
}

describe('the Kafka listener in a broker', () => {
  let t: TestBroker | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });

  it('listens on STRATA_KAFKA_PORT, reports its port and address, and stops with the broker', async () => {
    const port = await freePort();
    t = await startTestBroker({ STRATA_KAFKA_PORT: String(port) });
    expect(t.broker.kafkaPort).toBe(port);
    expect(t.broker.kafkaAddress).toBe(`127.0.0.1:${port}`);
    expect(await apiVersions(port)).toBe(KafkaError.NONE);
    await t.stop();
    t = undefined;
    const socket = connect(port, '127.0.0.1');
    const [error] = (await once(socket, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
  });

  it('is off at STRATA_KAFKA_PORT=0, and advertises STRATA_KAFKA_ADVERTISED_ADDRESS when set', async () => {
    t = await startTestBroker();
    expect(t.broker.kafkaPort).toBeNull();
    expect(t.broker.kafkaAddress).toBeNull();
    await t.stop();
    const port = await freePort();
    t = await startTestBroker({ STRATA_KAFKA_PORT: String(port), STRATA_KAFKA_ADVERTISED_ADDRESS: 'kafka.example.com:19092' });
    expect(t.broker.kafkaAddress).toBe('kafka.example.com:19092');
  });
});
