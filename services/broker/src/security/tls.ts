// TLS material of the broker's listeners (HTTP, Kafka, internal): the certificate, its key and the
// optional CA of client certificates (mTLS), read from PEM files. Reloaded without a restart on
// SIGHUP and when a file changes (polled every STRATA_TLS_RELOAD_INTERVAL_MS: fs.watch loses a
// file replaced by rename, which is how certificate tools write): each server adopted here gets the
// new context through setSecureContext, so new connections see the new certificate and open ones
// keep theirs. A reload that fails (a half-written pair, a key that does not match) keeps the old
// material and says why; the next change tries again.
//
// The same material is what this broker presents and trusts when it calls another broker
// (clientOptions): under mTLS a peer asks for a certificate, and the broker's own is the identity.

import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContextOptions, type Server as TlsServer, type TLSSocket, type TlsOptions } from 'node:tls';
import { StrataError } from '@strata/protocol';
import { userPrincipal } from '../auth/principal.js';
import type { TlsConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { FileReloader } from './file-reloader.js';

/** Older protocol versions are broken; every client Strata supports speaks 1.2. */
const MIN_TLS_VERSION = 'TLSv1.2';

interface Pems {
  cert: Buffer;
  key: Buffer;
  clientCa: Buffer | null;
  peerCa: Buffer | null;
}

/** What an outgoing connection to another broker needs (undici's `connect`, node:https). */
export interface ClientTlsOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export class TlsMaterial {
  readonly config: TlsConfig;
  readonly #servers = new Set<TlsServer>();
  readonly #logger: Logger;
  #pems: Pems;
  readonly #reloader: FileReloader;
  /** Reloads that replaced the material (tests and the log read it). */
  reloads = 0;

  private constructor(config: TlsConfig, pems: Pems, logger: Logger) {
    this.config = config;
    this.#pems = pems;
    this.#logger = logger;
    this.#reloader = new FileReloader(this.#files(), config.reloadIntervalMs, (reason) => this.#reload(reason));
  }

  /** Reads and checks the files; INVALID_CONFIG naming the file and the reason when one is unusable. */
  static async load(config: TlsConfig, logger: Logger): Promise<TlsMaterial> {
    return new TlsMaterial(config, await readPems(config), logger);
  }

  /** Whether listeners ask for (and require) a client certificate. */
  get mutual(): boolean {
    return this.#pems.clientCa !== null;
  }

  /** Options for tls.createServer / https.createServer. */
  serverOptions(): TlsOptions {
    return { ...this.#contextOptions(), requestCert: this.mutual, rejectUnauthorized: this.mutual };
  }

  /** For this broker's own calls to other brokers: their CA, and under mTLS this broker's certificate. */
  clientOptions(): ClientTlsOptions {
    const { peerCa, cert, key } = this.#pems;
    return { ...(peerCa === null ? {} : { ca: peerCa }), ...(this.mutual ? { cert, key } : {}) };
  }

  /** The server gets every reloaded context from now on. */
  adopt(server: TlsServer): void {
    this.#servers.add(server);
    server.once('close', () => this.#servers.delete(server));
  }

  /** Reloads on SIGHUP and on a change of any file, until close(). */
  watch(): void {
    this.#reloader.watch();
  }

  /** Re-reads the files; true when the new material is in use. One reload at a time (a second waits for the first). */
  reload(reason: string): Promise<boolean> {
    return this.#reloader.reload(reason);
  }

  close(): void {
    this.#reloader.close();
  }

  async #reload(reason: string): Promise<boolean> {
    let pems: Pems;
    try {
      pems = await readPems(this.config);
    } catch (e) {
      this.#logger.warn('TLS reload failed: the current certificate stays in use', { reason, err: e });
      return false;
    }
    if (samePems(pems, this.#pems)) return false;
    if ((pems.clientCa === null) !== (this.#pems.clientCa === null)) {
      // requestCert is fixed when a server is created: turning mTLS on or off needs a restart.
      this.#logger.warn('TLS reload refused: the client CA file appeared or disappeared (a restart turns mTLS on or off)', { reason });
      return false;
    }
    this.#pems = pems;
    const context = this.#contextOptions();
    for (const server of this.#servers) server.setSecureContext(context);
    this.reloads++;
    this.#logger.info('TLS material reloaded: new connections get the new certificate', { reason, servers: this.#servers.size });
    return true;
  }

  #contextOptions(): SecureContextOptions {
    const { cert, key, clientCa } = this.#pems;
    return { cert, key, minVersion: MIN_TLS_VERSION, ...(clientCa === null ? {} : { ca: clientCa }) };
  }

  #files(): string[] {
    const { certFile, keyFile, clientCaFile, caFile } = this.config;
    return [certFile, keyFile, clientCaFile, caFile].filter((f) => f !== '');
  }
}

/** A PEM file a setting names; INVALID_CONFIG naming the setting when it cannot be read. Null for an unset (empty) path. */
export async function readPemFile(setting: string, file: string): Promise<Buffer | null> {
  if (file === '') return null;
  try {
    return await readFile(file);
  } catch (e) {
    // The file's path is not repeated (a key's location is kept out of logs); the setting names it.
    throw new StrataError('INVALID_CONFIG', `${setting}: cannot read the file it names (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

async function readPems(config: TlsConfig): Promise<Pems> {
  const read = readPemFile;
  const cert = (await read('STRATA_TLS_CERT_FILE', config.certFile))!;
  const key = (await read('STRATA_TLS_KEY_FILE', config.keyFile))!;
  const clientCa = await read('STRATA_TLS_CLIENT_CA_FILE', config.clientCaFile);
  const peerCa = await read('STRATA_TLS_CA_FILE', config.caFile);
  try {
    // Checks now what a handshake would find later: PEM syntax, and the key matching the certificate.
    createSecureContext({ cert, key, ...(clientCa === null ? {} : { ca: clientCa }) });
    if (peerCa !== null) createSecureContext({ ca: peerCa });
  } catch (e) {
    throw new StrataError('INVALID_CONFIG', `TLS files unusable (STRATA_TLS_CERT_FILE, STRATA_TLS_KEY_FILE, STRATA_TLS_CLIENT_CA_FILE, STRATA_TLS_CA_FILE): ${(e as Error).message}`, { cause: e });
  }
  return { cert, key, clientCa, peerCa };
}

function samePems(a: Pems, b: Pems): boolean {
  const same = (x: Buffer | null, y: Buffer | null): boolean => (x === null || y === null ? x === y : x.equals(y));
  return same(a.cert, b.cert) && same(a.key, b.key) && same(a.clientCa, b.clientCa) && same(a.peerCa, b.peerCa);
}

/**
 * The authenticated identity of a TLS peer: `User:` and its certificate's subject
 * (`User:CN=alice,O=acme`, Kafka's default principal builder), when the listener verified it (mTLS).
 * Undefined on a plaintext socket or without a client certificate.
 * This is the principal the request origin carries (core/leader-client.ts RequestOrigin.principal).
 */
export function peerPrincipal(socket: unknown): string | undefined {
  const tlsSocket = socket as Partial<TLSSocket> | null;
  if (tlsSocket === null || tlsSocket.encrypted !== true || tlsSocket.authorized !== true || typeof tlsSocket.getPeerCertificate !== 'function') return undefined;
  const subject = tlsSocket.getPeerCertificate().subject as unknown as Record<string, string | string[]> | undefined;
  if (subject === undefined || subject === null) return undefined;
  const parts: string[] = [];
  for (const [name, value] of Object.entries(subject)) {
    for (const one of Array.isArray(value) ? value : [value]) parts.push(`${name}=${one.replace(/([,+"\\<>;=])/g, '\\$1')}`);
  }
  return parts.length === 0 ? undefined : userPrincipal(parts.join(','));
}
