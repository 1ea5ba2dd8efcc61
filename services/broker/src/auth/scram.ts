// SCRAM (RFC 5802, RFC 7677: SHA-256 and SHA-512) on the server side: deriving the stored keys
// from a password, checking a password against them (HTTP Basic, SASL/PLAIN), and one exchange of
// SASL/SCRAM (client-first -> server-first -> client-final -> server-final).
//
// Why the exchange is safe against replay: every exchange draws a fresh random server nonce, and
// the client's proof signs the whole conversation including it, so a client-final captured from one
// exchange matches no other. An exchange is used once: after its client-final (right or wrong) it
// only refuses. Channel binding is not offered (gs2 "n" or "y"; "p" is refused), as Kafka does.
// An unknown user gets a salt derived from the name and a process key, so the server-first looks the
// same as for a real user: whether a user exists is not answered before the proof.

import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { ScramCredential, ScramMechanism } from '@strata/coord';

const pbkdf2Async = promisify(pbkdf2);

/** Bytes of a generated salt and of the server's part of a nonce. */
const SALT_BYTES = 24;
const SERVER_NONCE_BYTES = 24;
/** Longest client message accepted (a name of 128 characters, escaped, and a nonce fit easily). */
export const SCRAM_MESSAGE_BYTES_MAX = 2048;

interface Hash {
  name: 'sha256' | 'sha512';
  bytes: number;
}

const HASHES: Record<ScramMechanism, Hash> = {
  'SCRAM-SHA-256': { name: 'sha256', bytes: 32 },
  'SCRAM-SHA-512': { name: 'sha512', bytes: 64 },
};

function hmac(hash: Hash, key: Buffer, data: string | Buffer): Buffer {
  return createHmac(hash.name, key).update(data).digest();
}

async function saltedPassword(hash: Hash, password: string, salt: Buffer, iterations: number): Promise<Buffer> {
  return pbkdf2Async(Buffer.from(password, 'utf8'), salt, iterations, hash.bytes, hash.name);
}

/** The stored form of a password for one mechanism (a new random salt). */
export async function deriveCredential(mechanism: ScramMechanism, password: string, iterations: number, salt: Buffer = randomBytes(SALT_BYTES)): Promise<ScramCredential> {
  return credentialOfSaltedPassword(mechanism, salt, await saltedPassword(HASHES[mechanism], password, salt, iterations), iterations);
}

/** Bytes of a salted password (PBKDF2's output: the hash's size) for the mechanism. */
export function saltedPasswordBytes(mechanism: ScramMechanism): number {
  return HASHES[mechanism].bytes;
}

/**
 * The stored form from a salted password a client computed (Kafka's AlterUserScramCredentials):
 * the server keeps StoredKey and ServerKey, never the salted password itself.
 */
export function credentialOfSaltedPassword(mechanism: ScramMechanism, salt: Buffer, salted: Buffer, iterations: number): ScramCredential {
  const hash = HASHES[mechanism];
  const clientKey = hmac(hash, salted, 'Client Key');
  return {
    mechanism,
    salt: salt.toString('base64'),
    iterations,
    storedKey: createHash(hash.name).update(clientKey).digest('base64'),
    serverKey: hmac(hash, salted, 'Server Key').toString('base64'),
  };
}

/** Whether `password` is the one `credential` was derived from (constant time in the comparison). */
export async function passwordMatches(credential: ScramCredential, password: string): Promise<boolean> {
  const hash = HASHES[credential.mechanism];
  const salted = await saltedPassword(hash, password, Buffer.from(credential.salt, 'base64'), credential.iterations);
  const storedKey = createHash(hash.name).update(hmac(hash, salted, 'Client Key')).digest();
  const expected = Buffer.from(credential.storedKey, 'base64');
  return expected.length === storedKey.length && timingSafeEqual(expected, storedKey);
}

/** Parses "k=v,k=v" attributes (RFC 5802 section 5.1); null when malformed. */
function attributes(text: string): Map<string, string> | null {
  const out = new Map<string, string>();
  for (const part of text.split(',')) {
    if (part.length < 2 || part[1] !== '=' || !/^[A-Za-z]$/.test(part[0]!)) return null;
    if (out.has(part[0]!)) return null;
    out.set(part[0]!, part.slice(2));
  }
  return out;
}

/** saslname: "=2C" is ",", "=3D" is "="; any other "=" is malformed. */
function decodeSaslName(text: string): string | null {
  if (/=(?!2C|3D)/.test(text)) return null;
  return text.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

const PRINTABLE_NONCE = /^[\x21-\x2b\x2d-\x7e]+$/;

/** Why an exchange failed (a subset of authenticator.ts AuthFailureReason). */
export type ScramFailure = 'malformed' | 'unsupported_mechanism' | 'replayed_or_forged' | 'unknown_user' | 'wrong_password';

export type ScramStep =
  | { kind: 'continue'; message: string }
  | { kind: 'done'; message: string; user: string }
  | { kind: 'failed'; reason: ScramFailure; detail: string; user: string | null };

/** Looks a user's credential up (null: no such user, or none for this mechanism). */
export type CredentialLookup = (user: string, mechanism: ScramMechanism) => Promise<ScramCredential | null>;

/** One SCRAM exchange: call `step` with each client message, in order. */
export class ScramExchange {
  readonly mechanism: ScramMechanism;
  readonly #hash: Hash;
  readonly #lookup: CredentialLookup;
  readonly #decoyKey: Buffer;
  readonly #iterations: number;
  #state: 'first' | 'final' | 'over' = 'first';
  #user = '';
  #credential: ScramCredential | null = null;
  #nonce = '';
  #clientNonce = '';
  #clientFirstBare = '';
  #serverFirst = '';
  #gs2Header = '';

  readonly #serverNonce: () => string;

  /**
   * `decoyKey`: the process key an unknown user's salt is derived from; `iterations` its iteration
   * count. `serverNonce`: the server's part of the nonce (random; a test passes RFC 7677's).
   */
  constructor(mechanism: ScramMechanism, lookup: CredentialLookup, decoyKey: Buffer, iterations: number, serverNonce: () => string = () => randomBytes(SERVER_NONCE_BYTES).toString('base64')) {
    this.mechanism = mechanism;
    this.#serverNonce = serverNonce;
    this.#hash = HASHES[mechanism];
    this.#lookup = lookup;
    this.#decoyKey = decoyKey;
    this.#iterations = iterations;
  }

  /** The user the client named (known once its first message was read). */
  get user(): string | null {
    return this.#user === '' ? null : this.#user;
  }

  async step(message: Buffer): Promise<ScramStep> {
    if (this.#state === 'over') return { kind: 'failed', reason: 'malformed', detail: 'the SCRAM exchange is over', user: this.user };
    if (message.length > SCRAM_MESSAGE_BYTES_MAX) return this.#fail('malformed', `a SCRAM message of more than ${SCRAM_MESSAGE_BYTES_MAX} bytes`);
    const text = message.toString('utf8');
    return this.#state === 'first' ? this.#first(text) : this.#final(text);
  }

  #fail(reason: ScramFailure, detail: string): ScramStep {
    this.#state = 'over';
    return { kind: 'failed', reason, detail, user: this.user };
  }

  async #first(text: string): Promise<ScramStep> {
    // gs2-header: "n,," or "y,," with an optional "a=authzid" between the commas.
    const m = /^([ny]),(a=[^,]*)?,(.*)$/s.exec(text);
    if (m === null) return this.#fail(text.startsWith('p') ? 'unsupported_mechanism' : 'malformed', text.startsWith('p') ? 'channel binding is not supported' : 'a malformed SCRAM client-first message');
    const bare = m[3]!;
    const attrs = attributes(bare);
    const name = attrs?.get('n');
    const clientNonce = attrs?.get('r');
    if (attrs === null || attrs === undefined || name === undefined || clientNonce === undefined || !PRINTABLE_NONCE.test(clientNonce)) return this.#fail('malformed', 'a malformed SCRAM client-first message');
    if (attrs.has('m')) return this.#fail('unsupported_mechanism', 'SCRAM extensions are not supported');
    const user = decodeSaslName(name);
    if (user === null || user === '') return this.#fail('malformed', 'a malformed SCRAM user name');
    this.#user = user;
    if (m[2] !== undefined && decodeSaslName(m[2].slice(2)) !== user) return this.#fail('malformed', 'an authorization id other than the user');
    // Kafka's delegation tokens ("tokenauth=true" extension): not supported; the attribute parser refuses it as malformed above.
    this.#credential = await this.#lookup(user, this.mechanism);
    const salt = this.#credential?.salt ?? hmac(this.#hash, this.#decoyKey, user).subarray(0, SALT_BYTES).toString('base64');
    const iterations = this.#credential?.iterations ?? this.#iterations;
    this.#clientNonce = clientNonce;
    this.#nonce = clientNonce + this.#serverNonce();
    this.#clientFirstBare = bare;
    this.#gs2Header = text.slice(0, text.length - bare.length);
    this.#serverFirst = `r=${this.#nonce},s=${salt},i=${iterations}`;
    this.#state = 'final';
    return { kind: 'continue', message: this.#serverFirst };
  }

  async #final(text: string): Promise<ScramStep> {
    this.#state = 'over';
    const proofAt = text.lastIndexOf(',p=');
    if (proofAt < 0) return this.#fail('malformed', 'a malformed SCRAM client-final message');
    const withoutProof = text.slice(0, proofAt);
    const attrs = attributes(withoutProof);
    if (attrs === null || attrs.get('c') === undefined || attrs.get('r') === undefined) return this.#fail('malformed', 'a malformed SCRAM client-final message');
    // librdkafka (2.0.2 measured) sends the client nonce again before the full nonce; Kafka's broker
    // accepts a nonce that ends with its own, so that exact form is accepted too. Either way the
    // server's fresh part is in it, and the proof signs the message as sent.
    const nonce = attrs.get('r');
    if (nonce !== this.#nonce && nonce !== this.#clientNonce + this.#nonce) return this.#fail('replayed_or_forged', 'the nonce is not the one of this exchange (a replayed or forged message)');
    if (Buffer.from(attrs.get('c')!, 'base64').toString('utf8') !== this.#gs2Header) return this.#fail('replayed_or_forged', 'the channel binding does not match the client-first message');
    const credential = this.#credential;
    if (credential === null) return this.#fail('unknown_user', 'no such user, or no credential for this mechanism');
    const proof = Buffer.from(text.slice(proofAt + 3), 'base64');
    const authMessage = `${this.#clientFirstBare},${this.#serverFirst},${withoutProof}`;
    const storedKey = Buffer.from(credential.storedKey, 'base64');
    if (proof.length !== storedKey.length) return this.#fail('wrong_password', 'a wrong password');
    const signature = hmac(this.#hash, storedKey, authMessage);
    const clientKey = Buffer.alloc(proof.length);
    for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i]! ^ signature[i]!;
    const computed = createHash(this.#hash.name).update(clientKey).digest();
    if (!timingSafeEqual(computed, storedKey)) return this.#fail('wrong_password', 'a wrong password');
    const serverSignature = hmac(this.#hash, Buffer.from(credential.serverKey, 'base64'), authMessage);
    return { kind: 'done', message: `v=${serverSignature.toString('base64')}`, user: this.#user };
  }
}

/** SASL/PLAIN's one message: [authzid] NUL authcid NUL password (RFC 4616); null when malformed. */
export function parsePlain(message: Buffer): { user: string; password: string } | null {
  const first = message.indexOf(0);
  const second = first < 0 ? -1 : message.indexOf(0, first + 1);
  if (second < 0 || message.indexOf(0, second + 1) >= 0) return null;
  const authzid = message.subarray(0, first).toString('utf8');
  const user = message.subarray(first + 1, second).toString('utf8');
  const password = message.subarray(second + 1).toString('utf8');
  if (user === '' || (authzid !== '' && authzid !== user)) return null;
  return { user, password };
}
