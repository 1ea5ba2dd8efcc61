// The ACL bodies of the HTTP API v1 (Kafka's model: @strata/protocol acls.ts, whose lists these
// enums are made from, so the API and the coordinator accept the same values).

import { Type, type Static } from '@sinclair/typebox';
import { ACL_FIELD_LENGTH_MAX, ACL_OPERATIONS, ACL_PATTERN_TYPES, ACL_PERMISSIONS, ACL_RESOURCE_TYPES } from '@strata/protocol';

const aclEnum = (values: readonly string[], description: string) => Type.Union(values.map((v) => Type.Literal(v)), { description });
export const AclResourceType = aclEnum(ACL_RESOURCE_TYPES, 'The kind of resource.');
export const AclPatternType = aclEnum(ACL_PATTERN_TYPES, 'literal: the name itself ("*": every resource of the type); prefixed: every name that starts with it.');
export const AclOperation = aclEnum(
  ACL_OPERATIONS,
  'read, write, delete and alter imply describe; alter-configs implies describe-configs; all is every operation.',
);
export const AclPermission = aclEnum(ACL_PERMISSIONS, 'A deny that matches wins over any allow.');

export const AclBinding = Type.Object(
  {
    principal: Type.String({ minLength: 3, maxLength: ACL_FIELD_LENGTH_MAX, description: 'Kafka\'s form `User:<name>`; `User:*` is every principal (an mTLS client is `User:<certificate subject>`).' }),
    host: Type.String({ minLength: 1, maxLength: 64, default: '*', description: '`*` or one IP address the client connects from.' }),
    resourceType: AclResourceType,
    patternType: AclPatternType,
    resourceName: Type.String({ minLength: 1, maxLength: ACL_FIELD_LENGTH_MAX, description: 'A topic, group or transactional id, a prefix, or "*"; the cluster is "kafka-cluster".' }),
    operation: AclOperation,
    permission: AclPermission,
  },
  { additionalProperties: false, examples: [{ principal: 'User:alice', host: '*', resourceType: 'topic', patternType: 'prefixed', resourceName: 'orders.', operation: 'read', permission: 'allow' }] },
);
/** A binding to create: host may be left out ("*"). */
export const AclBindingInput = Type.Composite([Type.Omit(AclBinding, ['host']), Type.Object({ host: Type.Optional(AclBinding.properties.host) })], { additionalProperties: false });
export const CreateAclsRequest = Type.Object({ acls: Type.Array(AclBindingInput, { minItems: 1, maxItems: 1000 }) }, { additionalProperties: false, examples: [{ acls: [{ principal: 'User:alice', host: '*', resourceType: 'topic', patternType: 'prefixed', resourceName: 'orders.', operation: 'read', permission: 'allow' }] }] });
export const CreateAclsResponse = Type.Object(
  { created: Type.Integer({ minimum: 0, description: 'Bindings that were not stored before.' }), acls: Type.Array(AclBinding) },
  { examples: [{ created: 1, acls: [{ principal: 'User:alice', host: '*', resourceType: 'topic', patternType: 'prefixed', resourceName: 'orders.', operation: 'read', permission: 'allow' }] }] },
);
export const AclList = Type.Object({ acls: Type.Array(AclBinding) }, { examples: [{ acls: [{ principal: 'User:alice', host: '*', resourceType: 'topic', patternType: 'prefixed', resourceName: 'orders.', operation: 'read', permission: 'allow' }] }] });
export const AclsDeleted = Type.Object(
  { deleted: Type.Array(AclBinding, { description: 'The bindings the filter matched, now removed.' }) },
  { examples: [{ deleted: [{ principal: 'User:alice', host: '*', resourceType: 'topic', patternType: 'prefixed', resourceName: 'orders.', operation: 'read', permission: 'allow' }] }] },
);

export type AclBindingBody = Static<typeof AclBinding>;
