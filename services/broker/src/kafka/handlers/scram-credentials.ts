// DescribeUserScramCredentials (50) and AlterUserScramCredentials (51), v0 (KIP-554), over the same
// users as /v1/users and `strata users` (auth/user-admin.ts). Authorized as Kafka does: describe on
// the cluster to describe (else the whole answer is CLUSTER_AUTHORIZATION_FAILED), alter on the
// cluster to alter (else every user's result is).
//
// Alter, per user as Kafka answers it: every alteration of a user succeeds or none does. A user
// named twice for one mechanism is DUPLICATE_RESOURCE; an unknown mechanism UNSUPPORTED_SASL_MECHANISM;
// a name Strata refuses, iterations outside RFC 7677's floor and Strata's ceiling, an empty salt or
// a salted password of the wrong size UNACCEPTABLE_CREDENTIAL; the deletion of a credential the user
// does not have RESOURCE_NOT_FOUND. An upsertion's salted password becomes StoredKey and ServerKey
// (auth/scram.ts) and is kept nowhere. Deleting a user's last credential keeps the user (its API
// tokens and ACLs stay): it can no longer sign in with a password.
// Describe: no users named (null or empty) lists every user with a credential; a named user with
// none is RESOURCE_NOT_FOUND, a name given twice DUPLICATE_RESOURCE.

import { USER_LIMITS, USER_NAME_PATTERN, type ScramCredential, type ScramMechanism, type UserRecord } from '@strata/coord';
import { ApiKey, KafkaError, ScramMechanismCode } from '@strata/kafka-protocol';
import { CLUSTER_RESOURCE_NAME, type StrataError } from '@strata/protocol';
import { toStrataError } from '../../core/errors.js';
import { principalOf } from '../../auth/principal.js';
import { credentialOfSaltedPassword, saltedPasswordBytes } from '../../auth/scram.js';
import { UserAdmin, type Actor } from '../../auth/user-admin.js';
import { countError, decodeBody, errorCode, originOf, respond, type HandlerDeps, type KafkaHandler, type KafkaRequest } from './context.js';

const CLUSTER = { type: 'cluster', name: CLUSTER_RESOURCE_NAME } as const;

const MECHANISM_BY_CODE: ReadonlyMap<number, ScramMechanism> = new Map([
  [ScramMechanismCode.SCRAM_SHA_256, 'SCRAM-SHA-256'],
  [ScramMechanismCode.SCRAM_SHA_512, 'SCRAM-SHA-512'],
]);
const CODE_BY_MECHANISM: Readonly<Record<ScramMechanism, number>> = { 'SCRAM-SHA-256': ScramMechanismCode.SCRAM_SHA_256, 'SCRAM-SHA-512': ScramMechanismCode.SCRAM_SHA_512 };

interface Refusal {
  code: number;
  message: string;
}

export function describeUserScramCredentialsHandler(deps: HandlerDeps): KafkaHandler {
  const API = 'DescribeUserScramCredentials';
  return async (request) => {
    const body = decodeBody(ApiKey.DescribeUserScramCredentials, request);
    const named = body.users ?? [];
    const origin = originOf(request);
    const fail = (code: number, message: string) =>
      respond(ApiKey.DescribeUserScramCredentials, request, {
        throttleTimeMs: 0,
        errorCode: code,
        errorMessage: message,
        results: named.map((u) => ({ user: u.name, errorCode: code, errorMessage: message, credentialInfos: [] })),
      });
    if (!deps.ctx.authorizer.allows(origin, 'describe', CLUSTER)) {
      const denied = deps.ctx.authorizer.denied(origin, 'describe', CLUSTER);
      return fail(errorCode(deps, API, denied), denied.message);
    }
    let users: UserRecord[];
    try {
      users = await deps.ctx.coordinator.listUsers({ signal: request.signal });
    } catch (e) {
      const { error } = toStrataError(e);
      return fail(errorCode(deps, API, error), error.message);
    }
    const infos = (credentials: readonly ScramCredential[]) => credentials.map((c) => ({ mechanism: CODE_BY_MECHANISM[c.mechanism], iterations: c.iterations }));
    const ok = { errorCode: KafkaError.NONE, errorMessage: null };
    let results;
    if (named.length === 0) {
      results = users.filter((u) => u.credentials.length > 0).map((u) => ({ user: u.name, ...ok, credentialInfos: infos(u.credentials) }));
    } else {
      const byName = new Map(users.map((u) => [u.name, u]));
      const counts = new Map<string, number>();
      for (const { name } of named) counts.set(name, (counts.get(name) ?? 0) + 1);
      results = named.map(({ name }) => {
        const refuse = (code: number, message: string) => ({ user: name, errorCode: countError(deps, API, code), errorMessage: message, credentialInfos: [] });
        if (counts.get(name)! > 1) return refuse(KafkaError.DUPLICATE_RESOURCE, `user "${name}" is named twice in one request`);
        const credentials = byName.get(name)?.credentials ?? [];
        if (credentials.length === 0) return refuse(KafkaError.RESOURCE_NOT_FOUND, `user "${name}" has no SCRAM credential`);
        return { user: name, ...ok, credentialInfos: infos(credentials) };
      });
    }
    return respond(ApiKey.DescribeUserScramCredentials, request, { throttleTimeMs: 0, ...ok, results });
  };
}

/** One user's alterations, gathered from both lists. */
interface UserAlteration {
  upsert: ScramCredential[];
  remove: ScramMechanism[];
  refusal: Refusal | null;
}

export function alterUserScramCredentialsHandler(deps: HandlerDeps): KafkaHandler {
  const API = 'AlterUserScramCredentials';
  const { ctx } = deps;
  const admin = new UserAdmin(ctx.coordinator, ctx.logger, ctx.config.auth.scramIterations, () => ctx.now());
  return async (request) => {
    const body = decodeBody(ApiKey.AlterUserScramCredentials, request);
    const origin = originOf(request);
    const users = gather(body.deletions, body.upsertions, ctx.config.kafka.scramUsersPerRequestMax);
    const answer = (results: { user: string; errorCode: number; errorMessage: string | null }[]) =>
      respond(ApiKey.AlterUserScramCredentials, request, { throttleTimeMs: 0, results });
    if (!ctx.authorizer.allows(origin, 'alter', CLUSTER)) {
      const denied: StrataError = ctx.authorizer.denied(origin, 'alter', CLUSTER);
      return answer([...users.keys()].map((user) => ({ user, errorCode: errorCode(deps, API, denied), errorMessage: denied.message })));
    }
    const actor: Actor = { principal: principalOf(request.principal), source: request.host ?? request.remote };
    const results = [];
    for (const [user, alteration] of users) {
      const refusal = alteration.refusal ?? (await apply(admin, actor, user, alteration, request, deps));
      results.push(refusal === null ? { user, errorCode: KafkaError.NONE, errorMessage: null } : { user, errorCode: countError(deps, API, refusal.code), errorMessage: refusal.message });
    }
    return answer(results);
  };
}

async function apply(admin: UserAdmin, actor: Actor, user: string, alteration: UserAlteration, request: KafkaRequest, deps: HandlerDeps): Promise<Refusal | null> {
  try {
    const outcome = await admin.alterScramCredentials(actor, user, alteration.upsert, alteration.remove, request.signal);
    return outcome === 'missing' ? { code: KafkaError.RESOURCE_NOT_FOUND, message: `user "${user}" has no SCRAM credential for a mechanism the request deletes` } : null;
  } catch (e) {
    const { error } = toStrataError(e);
    return { code: errorCode(deps, 'AlterUserScramCredentials', error), message: error.message };
  }
}

/** Each user's alterations in the order first named, checked; past `usersMax` users a refusal each. */
function gather(
  deletions: readonly { name: string; mechanism: number }[],
  upsertions: readonly { name: string; mechanism: number; iterations: number; salt: Buffer; saltedPassword: Buffer }[],
  usersMax: number,
): Map<string, UserAlteration> {
  const users = new Map<string, UserAlteration>();
  const seen = new Set<string>();
  const entry = (name: string): UserAlteration => {
    let alteration = users.get(name);
    if (alteration === undefined) {
      alteration = { upsert: [], remove: [], refusal: users.size >= usersMax ? { code: KafkaError.INVALID_REQUEST, message: `at most ${usersMax} users per request (STRATA_KAFKA_SCRAM_USERS_PER_REQUEST_MAX)` } : nameRefusal(name) };
      users.set(name, alteration);
    }
    return alteration;
  };
  const mechanismOf = (alteration: UserAlteration, name: string, code: number): ScramMechanism | null => {
    const mechanism = MECHANISM_BY_CODE.get(code);
    if (mechanism === undefined) {
      alteration.refusal ??= { code: KafkaError.UNSUPPORTED_SASL_MECHANISM, message: `unknown SCRAM mechanism ${code} (1 SCRAM-SHA-256, 2 SCRAM-SHA-512)` };
      return null;
    }
    const key = `${name}\u0000${mechanism}`;
    if (seen.has(key)) {
      alteration.refusal ??= { code: KafkaError.DUPLICATE_RESOURCE, message: `the ${mechanism} credential of user "${name}" is altered twice in one request` };
      return null;
    }
    seen.add(key);
    return mechanism;
  };
  for (const d of deletions) {
    const alteration = entry(d.name);
    const mechanism = mechanismOf(alteration, d.name, d.mechanism);
    if (mechanism !== null) alteration.remove.push(mechanism);
  }
  for (const u of upsertions) {
    const alteration = entry(u.name);
    const mechanism = mechanismOf(alteration, u.name, u.mechanism);
    if (mechanism === null) continue;
    const problem = upsertionProblem(mechanism, u.iterations, u.salt, u.saltedPassword);
    if (problem !== null) alteration.refusal ??= { code: KafkaError.UNACCEPTABLE_CREDENTIAL, message: problem };
    else alteration.upsert.push(credentialOfSaltedPassword(mechanism, u.salt, u.saltedPassword, u.iterations));
  }
  return users;
}

function nameRefusal(name: string): Refusal | null {
  if (name.length >= 1 && name.length <= USER_LIMITS.userNameLengthMax && USER_NAME_PATTERN.test(name)) return null;
  return { code: KafkaError.UNACCEPTABLE_CREDENTIAL, message: `a user name must be 1..${USER_LIMITS.userNameLengthMax} of [A-Za-z0-9._@+-]` };
}

/** Base64 of the salt must fit the stored field (coord USER_LIMITS.scramFieldLengthMax). */
const SALT_BYTES_MAX = Math.floor((USER_LIMITS.scramFieldLengthMax * 3) / 4) - 2;

function upsertionProblem(mechanism: ScramMechanism, iterations: number, salt: Buffer, salted: Buffer): string | null {
  if (iterations < USER_LIMITS.scramIterationsMin) return `${iterations} iterations is fewer than ${USER_LIMITS.scramIterationsMin} (RFC 7677)`;
  if (iterations > USER_LIMITS.scramIterationsMax) return `${iterations} iterations is more than ${USER_LIMITS.scramIterationsMax}`;
  if (salt.length === 0 || salt.length > SALT_BYTES_MAX) return `the salt must be 1..${SALT_BYTES_MAX} bytes`;
  if (salted.length !== saltedPasswordBytes(mechanism)) return `a ${mechanism} salted password is ${saltedPasswordBytes(mechanism)} bytes, not ${salted.length}`;
  return null;
}
