// Consumer groups over HTTP (docs/architecture.md#groups, #http-api): parse (the {group} path
// parameter and the bodies by @strata/api's schemas, before anything reaches the coordinator), call
// the groups core (core/groups.ts), reply.

import type { OffsetCommit } from '@strata/coord';
import type { ReplyBody } from '@strata/api';
import { StrataError } from '@strata/protocol';
import type { BrokerContext } from '../../context.js';
import { DataCore } from '../../core/data.js';
import { GroupsCore, type ResetTarget } from '../../core/groups.js';
import { readRequestJson } from '../body.js';
import type { Handler, RequestContext } from '../router.js';

export type { GroupOffsetView } from '../../core/groups.js';

type GroupRoute =
  | 'listGroups'
  | 'describeGroup'
  | 'deleteGroup'
  | 'joinGroup'
  | 'groupHeartbeat'
  | 'leaveGroup'
  | 'commitGroupOffsets'
  | 'fetchGroupOffsets'
  | 'resetGroupOffsets';

/** Group request bodies are small: a commit of many partitions is a few hundred KiB at most. */
const GROUP_BODY_BYTES_MAX = 1024 * 1024;

export function groupHandlers(ctx: BrokerContext, data: DataCore = new DataCore(ctx)): Record<GroupRoute, Handler> {
  const groups = new GroupsCore(ctx, data);

  /** The {group} path parameter (checked by its schema, the name rule, before the handler runs: INVALID_GROUP_ID). */
  const groupParam = (rc: RequestContext): string => rc.params.group!;

  return {
    listGroups: async (rc) => ({ status: 200, json: { groups: await groups.list(rc.origin, rc.signal) } satisfies ReplyBody<'listGroups'> }),

    describeGroup: async (rc) => ({ status: 200, json: (await groups.describe(groupParam(rc), rc.origin, rc.signal)) satisfies ReplyBody<'describeGroup'> }),

    deleteGroup: async (rc) => {
      await groups.delete(groupParam(rc), rc.origin, rc.signal);
      return { status: 204 };
    },

    joinGroup: async (rc) => {
      const group = groupParam(rc);
      const body = await readRequestJson(rc.req, 'joinGroup', GROUP_BODY_BYTES_MAX);
      return { status: 200, json: (await groups.join(group, body.topics, body, rc.origin, rc.signal)) satisfies ReplyBody<'joinGroup'> };
    },

    groupHeartbeat: async (rc) => {
      const group = groupParam(rc);
      const body = await readRequestJson(rc.req, 'groupHeartbeat', GROUP_BODY_BYTES_MAX);
      return { status: 200, json: (await groups.heartbeat(group, rc.params.member!, body, rc.origin, rc.signal)) satisfies ReplyBody<'joinGroup'> };
    },

    leaveGroup: async (rc) => {
      await groups.leave(groupParam(rc), rc.params.member!, rc.origin, rc.signal);
      return { status: 204 };
    },

    commitGroupOffsets: async (rc) => {
      const group = groupParam(rc);
      const body = await readRequestJson(rc.req, 'commitGroupOffsets', GROUP_BODY_BYTES_MAX);
      const standalone = body.memberId === undefined || body.memberId === null;
      if (!standalone && body.memberEpoch === undefined) {
        throw new StrataError('INVALID_REQUEST', 'commitGroupOffsets: a commit with memberId needs memberEpoch, a non-negative integer', {
          details: { problems: [{ code: 'INVALID_REQUEST', field: '/memberEpoch', message: 'memberEpoch is required with memberId' }] },
        });
      }
      const offsets: OffsetCommit[] = body.offsets;
      const member = standalone ? null : { memberId: body.memberId!, memberEpoch: body.memberEpoch! };
      return { status: 200, json: { committed: await groups.commit(group, member, offsets, rc.origin, rc.signal) } satisfies ReplyBody<'commitGroupOffsets'> };
    },

    fetchGroupOffsets: async (rc) => {
      const offsets = await groups.fetchOffsets(groupParam(rc), rc.query.get('topic'), rc.origin, rc.signal);
      return { status: 200, json: { offsets } satisfies ReplyBody<'fetchGroupOffsets'> };
    },

    resetGroupOffsets: async (rc) => {
      const group = groupParam(rc);
      const body = await readRequestJson(rc.req, 'resetGroupOffsets', GROUP_BODY_BYTES_MAX);
      const to = body.to;
      if ((to === 'offset' || to === 'timestamp') && body.value === undefined) {
        throw new StrataError('INVALID_REQUEST', `resetGroupOffsets: to=${to} needs value, a non-negative integer`, {
          details: { problems: [{ code: 'INVALID_REQUEST', field: '/value', message: `value is required with to=${to}` }] },
        });
      }
      const target: ResetTarget = to === 'earliest' || to === 'latest' ? { to } : { to, value: body.value ?? 0 };
      const offsets = await groups.reset(group, body.topic, body.partitions, target, rc.origin, rc.signal);
      return { status: 200, json: { offsets: offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })) } satisfies ReplyBody<'resetGroupOffsets'> };
    },
  };
}
