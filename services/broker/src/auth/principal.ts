// Principals in Kafka's form, the contract every front door and the authorizer share (issue #14):
// `User:<name>`. A SASL or HTTP user is `User:<user name>`; a client certificate (mTLS) is
// `User:<certificate subject>` as Kafka's default principal builder makes it
// (`User:CN=alice,O=acme`); nobody authenticated is `User:ANONYMOUS`. The prefix is added here only.

export const ANONYMOUS_PRINCIPAL = 'User:ANONYMOUS';

export function userPrincipal(name: string): string {
  return `User:${name}`;
}
