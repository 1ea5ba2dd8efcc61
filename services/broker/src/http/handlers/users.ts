// /v1/users: users and their API tokens (auth/user-admin.ts). Who may call these is the
// authorizer's to decide (issue #14, ACLs: cluster ALTER); this part authenticates the caller and
// audits every change with its principal and address. /v1/whoami answers the caller's principal.

import type { ReplyBody } from '@strata/api';
import type { BrokerContext } from '../../context.js';
import { sourceOf } from '../../auth/http-auth.js';
import { UserAdmin, type Actor } from '../../auth/user-admin.js';
import { readRequestJson } from '../body.js';
import type { Handler, RequestContext } from '../router.js';

type UserRoute = 'whoami' | 'listUsers' | 'createUser' | 'deleteUser' | 'listTokens' | 'issueToken' | 'revokeToken';

export function userHandlers(ctx: BrokerContext): Record<UserRoute, Handler> {
  const admin = new UserAdmin(ctx.coordinator, ctx.logger, ctx.config.auth.scramIterations, () => ctx.now());
  const actor = (rc: RequestContext): Actor => ({ principal: rc.principal, source: sourceOf(rc.req) });
  return {
    // No ACL check: the principal is the caller's own, and a client must learn it to show it.
    whoami: (rc) => ({ status: 200, json: { principal: rc.principal, authentication: ctx.config.auth.mode } satisfies ReplyBody<'whoami'> }),
    listUsers: async () => ({ status: 200, json: { users: await admin.listUsers() } satisfies ReplyBody<'listUsers'> }),
    createUser: async (rc) => {
      const body = await readRequestJson(rc.req, 'createUser', ctx.config.maxRequestBytes);
      const { created, user } = await admin.putUser(actor(rc), body, rc.signal);
      return { status: created ? 201 : 200, json: user satisfies ReplyBody<'createUser'> };
    },
    deleteUser: async (rc) => {
      await admin.deleteUser(actor(rc), rc.params.user!);
      return { status: 200, json: { name: rc.params.user!, deleted: true } satisfies ReplyBody<'deleteUser'> };
    },
    listTokens: async (rc) => ({ status: 200, json: { tokens: await admin.listTokens(rc.params.user!) } satisfies ReplyBody<'listTokens'> }),
    issueToken: async (rc) => {
      const body = await readRequestJson(rc.req, 'issueToken', ctx.config.maxRequestBytes);
      const issued = await admin.issueToken(actor(rc), rc.params.user!, body.name, body.expiresInMs);
      return { status: 201, json: issued satisfies ReplyBody<'issueToken'> };
    },
    revokeToken: async (rc) => {
      await admin.revokeToken(actor(rc), rc.params.user!, rc.params.token!);
      return { status: 200, json: { id: rc.params.token!, revoked: true } satisfies ReplyBody<'revokeToken'> };
    },
  };
}
