// Principals in Kafka's form, the contract every front door and the authorizer share (issue #14):
// `User:<name>`. A SASL or HTTP user is `User:<user name>`; a client certificate (mTLS) is
// `User:<certificate subject>` as Kafka's default principal builder makes it
// (`User:CN=alice,O=acme`); nobody authenticated is `User:ANONYMOUS`. The prefix is added here only.

import { ANONYMOUS_PRINCIPAL } from '@strata/protocol';

export { ANONYMOUS_PRINCIPAL };

const USER_PREFIX = 'User:';

export function userPrincipal(name: string): string {
  return `${USER_PREFIX}${name}`;
}

/**
 * `authenticated` as a principal: undefined is User:ANONYMOUS; a name already in Kafka's form is
 * kept; a bare certificate subject (`CN=alice,O=acme`) becomes `User:CN=alice,O=acme`.
 */
export function principalOf(authenticated: string | undefined): string {
  if (authenticated === undefined || authenticated === '') return ANONYMOUS_PRINCIPAL;
  return authenticated.startsWith(USER_PREFIX) ? authenticated : `${USER_PREFIX}${authenticated}`;
}
