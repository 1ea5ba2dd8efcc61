// The cluster secrets: the one this broker signs its credentials with, and the ones it accepts
// from other brokers (that one, and during a rotation the other). From STRATA_CLUSTER_SECRET (+
// STRATA_CLUSTER_SECRET_PREVIOUS), fixed for the process, or from STRATA_CLUSTER_SECRET_FILE,
// reread on SIGHUP and when the file changes (polled: secret tools replace files by rename, which
// fs.watch loses), so the secret rotates without a restart. A reload that reads an unusable file
// keeps the secrets in use and says why; it never says what they are.
//
// A rotation from A to B, each step applied on every broker before the next one starts:
//   1. file "A\nB": sign with A, accept A and B;  2. "B\nA": sign with B, accept both;  3. "B".
// No broker ever signs with a secret another does not accept, so replication never stalls.

import { readFile } from 'node:fs/promises';
import { StrataError } from '@strata/protocol';
import { CLUSTER_SECRET_MIN_CHARS, type ClusterConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { registerSecret } from '../redact.js';
import { FileReloader } from './file-reloader.js';

/** A file's secrets beyond these lines would be silently ignored: refused instead. */
const SECRET_FILE_LINES_MAX = 2;

interface Secrets {
  signing: string;
  accepted: readonly string[];
}

export class ClusterSecrets {
  readonly #file: string;
  readonly #logger: Logger;
  #secrets: Secrets;
  readonly #reloader: FileReloader;
  /** Reloads that replaced the secrets (tests and the log read it). */
  reloads = 0;

  private constructor(file: string, reloadIntervalMs: number, secrets: Secrets, logger: Logger) {
    for (const secret of secrets.accepted) registerSecret(secret);
    this.#file = file;
    this.#secrets = secrets;
    this.#logger = logger;
    this.#reloader = new FileReloader(file === '' ? [] : [file], reloadIntervalMs, (reason) => this.#reload(reason));
  }

  /** The configured secrets; INVALID_CONFIG when the file cannot be read or holds unusable ones. */
  static async load(config: Pick<ClusterConfig, 'clusterSecret' | 'clusterSecretPrevious' | 'clusterSecretFile' | 'clusterSecretReloadIntervalMs'>, logger: Logger): Promise<ClusterSecrets> {
    if (config.clusterSecretFile === '') {
      const accepted = [config.clusterSecret, ...(config.clusterSecretPrevious === '' ? [] : [config.clusterSecretPrevious])];
      return new ClusterSecrets('', config.clusterSecretReloadIntervalMs, { signing: config.clusterSecret, accepted }, logger);
    }
    return new ClusterSecrets(config.clusterSecretFile, config.clusterSecretReloadIntervalMs, await readSecretFile(config.clusterSecretFile), logger);
  }

  /** The secret this broker's own credentials are signed with. */
  get signing(): string {
    return this.#secrets.signing;
  }

  /** Every secret a peer's credential may be signed with (the signing one first). */
  get accepted(): readonly string[] {
    return this.#secrets.accepted;
  }

  /** With a file: reloads on SIGHUP and on a change of the file, until close(). Without: nothing to watch. */
  watch(): void {
    this.#reloader.watch();
  }

  /** Rereads the file; true when new secrets are in use. One reload at a time. */
  reload(reason: string): Promise<boolean> {
    return this.#reloader.reload(reason);
  }

  close(): void {
    this.#reloader.close();
  }

  async #reload(reason: string): Promise<boolean> {
    let secrets: Secrets;
    try {
      secrets = await readSecretFile(this.#file);
    } catch (e) {
      // The message names the file and the reason, never a secret (readSecretFile says none).
      this.#logger.warn('cluster secret reload failed: the secrets in use stay', { reason, error: (e as Error).message });
      return false;
    }
    const same = secrets.signing === this.#secrets.signing && secrets.accepted.join('\n') === this.#secrets.accepted.join('\n');
    if (same) return false;
    for (const secret of secrets.accepted) registerSecret(secret);
    this.#secrets = secrets;
    this.reloads++;
    this.#logger.info('cluster secrets reloaded', { reason, accepted: secrets.accepted.length });
    return true;
  }
}

async function readSecretFile(file: string): Promise<Secrets> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new StrataError('INVALID_CONFIG', `STRATA_CLUSTER_SECRET_FILE: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e });
  }
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (lines.length === 0 || lines.length > SECRET_FILE_LINES_MAX) {
    throw new StrataError('INVALID_CONFIG', `STRATA_CLUSTER_SECRET_FILE: ${file} must hold 1 or ${SECRET_FILE_LINES_MAX} non-empty lines (the secret to sign with, then another accepted), found ${lines.length}`);
  }
  const short = lines.findIndex((l) => l.length < CLUSTER_SECRET_MIN_CHARS);
  if (short >= 0) throw new StrataError('INVALID_CONFIG', `STRATA_CLUSTER_SECRET_FILE: line ${short + 1} of ${file} is shorter than ${CLUSTER_SECRET_MIN_CHARS} characters`);
  return { signing: lines[0]!, accepted: [...new Set(lines)] };
}
