// The principal a request carries, in Kafka's form `User:<name>` (the contract shared with
// authentication, issue #14): `User:ANONYMOUS` when nobody authenticated.

import { ANONYMOUS_PRINCIPAL } from '@strata/protocol';

const USER_PREFIX = 'User:';

/**
 * `authenticated` as a principal: undefined is User:ANONYMOUS; a name already in Kafka's form is
 * kept; a bare mTLS certificate subject (`CN=alice,O=acme`, security/tls.ts peerPrincipal) becomes
 * `User:CN=alice,O=acme`, as Kafka names an SSL principal by default. The one place this is decided.
 */
export function principalOf(authenticated: string | undefined): string {
  if (authenticated === undefined || authenticated === '') return ANONYMOUS_PRINCIPAL;
  return authenticated.startsWith(USER_PREFIX) ? authenticated : `${USER_PREFIX}${authenticated}`;
}
