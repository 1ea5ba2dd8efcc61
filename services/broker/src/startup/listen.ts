// Small pieces of the broker's start: where it listens and what each listener admits, from the configuration.

import { access } from 'node:fs/promises';
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
