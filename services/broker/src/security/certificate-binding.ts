// Under mTLS, a broker's certificate is bound to its broker id (issue #14: one broker's certificate
// must not speak for another). A request signed with broker X's credential (broker-credentials.ts)
// that arrives over a connection whose client certificate does not name X is refused, on the
// internal port (follower fetches) and on a leader's public port (forwarded requests) alike.
//
// The rule (STRATA_INTERNAL_CERT_BINDING):
// - cn (default): the certificate's subject has exactly one CN, and it is the broker id
//   (a broker "b2" presents CN=b2; its SAN still names the host it serves, for clients);
// - dns-san: one of its DNS subjectAltNames is the broker id (brokers whose ids are their host names);
// - none: any certificate the client CA signed speaks for any broker (one certificate shared by every
//   broker: the HMAC credential is then the only identity).
// Without mTLS (plaintext, or TLS without client certificates) there is no certificate to bind: the
// HMAC credential alone names the broker, as before.

import type { TLSSocket } from 'node:tls';
import type { InternalCertBinding } from '../config/types.js';
import { peerPrincipal } from './tls.js';

/** Why a verified client certificate may not speak for the broker its credential names; null when it may (or there is none). */
export function certificateBindingProblem(binding: InternalCertBinding, socket: unknown, brokerId: string): string | null {
  if (binding === 'none') return null;
  const tls = socket as Partial<TLSSocket> | null | undefined;
  // No verified certificate: this listener does not ask for one (no mTLS), and the HMAC credential is the identity.
  if (tls === null || tls === undefined || tls.encrypted !== true || tls.authorized !== true || typeof tls.getPeerCertificate !== 'function') return null;
  const cert = tls.getPeerCertificate();
  if (cert === null || Object.keys(cert).length === 0) return null;
  if (binding === 'cn') {
    const cn = (cert.subject as unknown as Record<string, string | string[]> | undefined)?.['CN'];
    if (typeof cn === 'string' && cn === brokerId) return null;
    return `the client certificate (${peerPrincipal(socket) ?? 'no subject'}) is not broker ${brokerId}'s: its subject CN must be the broker id (STRATA_INTERNAL_CERT_BINDING=cn)`;
  }
  const names = (cert.subjectaltname ?? '').split(',').map((entry) => entry.trim());
  if (names.includes(`DNS:${brokerId}`)) return null;
  return `the client certificate (${peerPrincipal(socket) ?? 'no subject'}) is not broker ${brokerId}'s: none of its DNS subjectAltNames is the broker id (STRATA_INTERNAL_CERT_BINDING=dns-san)`;
}
