// Small pieces of the broker's start: where it listens and what each listener admits, from the configuration.

import { access } from 'node:fs/promises';
import type { Server } from 'node:net';
import type { BrokerConfig } from '../config.js';
import type { ConnectionLimits } from '../http/admission.js';

export async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** The same URL with another port (the internal listener beside the advertised one). */
export function withPort(base: string, port: number): string {
  const url = new URL(base);
  url.port = String(port);
  return url.origin;
}

/** Where a listener meant for this machine only binds. */
export const LOOPBACK = '127.0.0.1';

/** Resolves once `server` listens on host:port; rejects with the listen error (a port in use). */
export async function listenOn(server: Server, port: number, host: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** The limits on what clients hold of a listener (admission.ts), from the configuration. */
export function connectionLimits(config: BrokerConfig): ConnectionLimits {
  return {
    maxConnections: config.maxConnections,
    maxConnectionsPerAddress: config.maxConnectionsPerAddress,
    bodyBytesInFlightPerConnectionMax: config.bodyBytesInFlightPerConnection,
    bodyBytesInFlightPerAddressMax: config.bodyBytesInFlightPerAddress,
    bodyBytesInFlightMax: config.bodyBytesInFlight,
    bodyIdleTimeoutMs: config.bodyIdleTimeoutMs,
    headersTimeoutMs: config.headersTimeoutMs,
    requestTimeoutMs: config.requestTimeoutMs,
    keepAliveTimeoutMs: config.keepAliveTimeoutMs,
  };
}
