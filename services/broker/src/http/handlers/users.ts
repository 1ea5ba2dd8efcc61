// /v1/users: users and their API tokens (auth/user-admin.ts), and /v1/whoami. Authorized as Kafka
// authorizes its user APIs (Alter/DescribeUserScramCredentials): changing users needs ALTER on the
// cluster, listing them DESCRIBE. A user may also list, issue and revoke its own tokens, as a Kafka
// principal owns its delegation tokens. One exception: the first user of a new cluster is made
// anonymously from loopback (the bootstrap rule of auth/http-auth.ts), which no ACL can allow yet.
// Every change is audited with its principal and address.

import type { ReplyBody } from '@strata/api';
import type { BrokerContext } from '../../context.js';
import { isLoopback, sourceOf } from '../../auth/http-auth.js';
import { ANONYMOUS_PRINCIPAL, userPrincipal } from '../../auth/principal.js';
import { UserAdmin, type Actor } from '../../auth/user-admin.js';
import { checkCluster } from '../../core/cluster.js';
import { readRequestJson } from '../body.js';
import type { Handler, RequestContext } from '../router.js';

type UserRoute = 'whoami' | 'listUsers' | 'createUser' | 'deleteUser' | 'listTokens' | 'issueToken' | 'revokeToken';

export function userHandlers(ctx: BrokerContext): Record<UserRoute, Handler> {
  const admin = new UserAdmin(ctx.coordinator, ctx.logger, ctx.config.auth.scramIterations, () => ctx.now());
  const actor = (rc: RequestContext): Actor => ({ principal: rc.principal, source: sourceOf(rc.req) });
  /** ALTER on the cluster, unless the request is the bootstrap one (anonymous, loopback, no user yet). */
  const mayAlterUsers = async (rc: RequestContext): Promise<void> => {
    if (rc.principal === ANONYMOUS_PRINCIPAL && isLoopback(sourceOf(rc.req)) && !(await ctx.auth.hasUsers())) return;
    checkCluster(ctx, rc.origin, 'alter');
  };
  /** A user's own tokens are its own; anyone else's need the cluster operation. */
  const mayManageTokens = (rc: RequestContext, operation: 'describe' | 'alter'): void => {
    if (rc.principal !== userPrincipal(rc.params.user!)) checkCluster(ctx, rc.origin, operation);
  };
  return {
    // No ACL check: the principal is the caller's own, and a client must learn it to show it.
    whoami: (rc) => ({ status: 200, json: { principal: rc.principal, authentication: ctx.config.auth.mode } satisfies ReplyBody<'whoami'> }),
    listUsers: async (rc) => {
      checkCluster(ctx, rc.origin, 'describe');
      return { status: 200, json: { users: await admin.listUsers() } satisfies ReplyBody<'listUsers'> };
    },
    createUser: async (rc) => {
      await mayAlterUsers(rc);
      const body = await readRequestJson(rc.req, 'createUser', ctx.config.maxRequestBytes);
      const { created, user } = await admin.putUser(actor(rc), body, rc.signal);
      return { status: created ? 201 : 200, json: user satisfies ReplyBody<'createUser'> };
    },
    deleteUser: async (rc) => {
      checkCluster(ctx, rc.origin, 'alter');
      await admin.deleteUser(actor(rc), rc.params.user!);
      return { status: 200, json: { name: rc.params.user!, deleted: true } satisfies ReplyBody<'deleteUser'> };
    },
    listTokens: async (rc) => {
      mayManageTokens(rc, 'describe');
      return { status: 200, json: { tokens: await admin.listTokens(rc.params.user!) } satisfies ReplyBody<'listTokens'> };
    },
    issueToken: async (rc) => {
      mayManageTokens(rc, 'alter');
      const body = await readRequestJson(rc.req, 'issueToken', ctx.config.maxRequestBytes);
      const issued = await admin.issueToken(actor(rc), rc.params.user!, body.name, body.expiresInMs);
      return { status: 201, json: issued satisfies ReplyBody<'issueToken'> };
    },
    revokeToken: async (rc) => {
      mayManageTokens(rc, 'alter');
      await admin.revokeToken(actor(rc), rc.params.user!, rc.params.token!);
      return { status: 200, json: { id: rc.params.token!, revoked: true } satisfies ReplyBody<'revokeToken'> };
    },
  };
}
