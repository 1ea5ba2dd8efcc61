// /v1/acls: create, list and delete ACL bindings (core/acls.ts); bodies and filters by @strata/api's schemas.

import { queryParams, type ReplyBody } from '@strata/api';
import type { AclBinding } from '@strata/protocol';
import type { BrokerContext } from '../../context.js';
import { AclsCore, aclFilterOf } from '../../core/acls.js';
import { readRequestJson } from '../body.js';
import type { Handler } from '../router.js';

/** An ACL request body is small: 1000 bindings of a few hundred bytes. */
const ACL_BODY_BYTES_MAX = 1024 * 1024;

export function aclHandlers(ctx: BrokerContext): Record<'createAcls' | 'listAcls' | 'deleteAcls', Handler> {
  const acls = new AclsCore(ctx);
  return {
    createAcls: async (rc) => {
      const body = await readRequestJson(rc.req, 'createAcls', ACL_BODY_BYTES_MAX);
      const bindings: AclBinding[] = body.acls.map((b) => ({ ...b, host: b.host ?? '*' }) as AclBinding);
      const created = await acls.create(bindings, rc.origin, rc.signal);
      return { status: 200, json: { created, acls: bindings } satisfies ReplyBody<'createAcls'> };
    },
    listAcls: async (rc) => {
      const found = await acls.list(aclFilterOf(queryParams('listAcls', rc.query)), rc.origin, rc.signal);
      return { status: 200, json: { acls: found } satisfies ReplyBody<'listAcls'> };
    },
    deleteAcls: async (rc) => {
      const deleted = await acls.delete(aclFilterOf(queryParams('deleteAcls', rc.query)), rc.origin, rc.signal);
      return { status: 200, json: { deleted } satisfies ReplyBody<'deleteAcls'> };
    },
  };
}
