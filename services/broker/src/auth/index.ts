// What the broker's wiring (broker.ts) takes from auth/: the authenticator, the HTTP front door's
// principal, and what is said at start.
export { announceAuthentication } from './announce.js';
export { Authenticator } from './authenticator.js';
export { httpPrincipal } from './http-auth.js';
