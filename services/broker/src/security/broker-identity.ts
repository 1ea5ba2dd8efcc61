// What a broker proves itself with to other brokers, and the secrets it must never print: wired
// once at start (broker.ts).

import type { ClusterConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { registerSecret } from '../redact.js';
import { BrokerCredentials } from './broker-credentials.js';
import { ClusterSecrets } from './cluster-secrets.js';

/**
 * The cluster secrets (watched: they rotate from their file without a restart) and this broker's
 * credential, which signs every broker-to-broker request; every secret registered for redaction
 * first. The caller closes `secrets`.
 */
export async function brokerIdentity(brokerId: string, config: ClusterConfig, logger: Logger): Promise<{ secrets: ClusterSecrets; credentials: BrokerCredentials }> {
  registerConnectionSecrets(config.redisUrl);
  const secrets = await ClusterSecrets.load(config, logger);
  secrets.watch();
  const credentials = new BrokerCredentials(brokerId, secrets, { maxSkewMs: config.internalAuthMaxSkewMs, noncesMax: config.internalAuthNoncesMax, certificateBinding: config.internalCertBinding, logger });
  return { secrets, credentials };
}

/**
 * The secrets this broker connects with, which no log line or answer may quote (redact.ts): the
 * Redis URL's password, and the S3 credentials the SDK reads from the environment.
 */
export function registerConnectionSecrets(redisUrl: string): void {
  try {
    const password = redisUrl === '' ? '' : new URL(redisUrl).password;
    // As written in the URL (percent-encoded) and as sent.
    registerSecret(password);
    registerSecret(decodeURIComponent(password));
  } catch {
    // An unparseable URL was refused by config/load.ts already.
  }
  registerSecret(process.env['AWS_SECRET_ACCESS_KEY']);
  registerSecret(process.env['AWS_SESSION_TOKEN']);
}
