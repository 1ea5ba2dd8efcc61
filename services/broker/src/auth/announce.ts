// What the broker says at start about who may use it: open on loopback (fine for development),
// loudly open when it listens beyond loopback with no authentication, or how it authenticates.

import type { BrokerConfig } from '../config.js';
import type { Logger } from '../logger.js';

function loopbackOnly(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

export function announceAuthentication(config: BrokerConfig, logger: Logger): void {
  const { auth } = config;
  const mtls = config.tls !== null && config.tls.clientCaFile !== '';
  if (auth.mode === 'none' && !mtls) {
    if (loopbackOnly(config.host)) {
      logger.info('authentication is off (STRATA_AUTH=none): the broker is open to anyone on this machine (it binds loopback only)', { host: config.host });
    } else {
      logger.warn(
        'THE BROKER IS OPEN: it listens beyond loopback and authenticates nobody: anyone who reaches it can read, write and delete every topic. ' +
          'Set STRATA_AUTH=required (users: strata users create) or client certificates (STRATA_TLS_CLIENT_CA_FILE)',
        { host: config.host, auth: auth.mode },
      );
    }
    return;
  }
  logger.info('authentication', {
    auth: auth.mode,
    clientCertificates: mtls,
    saslMechanisms: auth.saslMechanisms,
    saslSessionLifetimeMs: auth.saslSessionLifetimeMs,
    anonymous: auth.mode === 'required' ? 'refused' : 'allowed',
  });
}
