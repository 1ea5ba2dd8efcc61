// DescribeAcls (29), CreateAcls (30), DeleteAcls (31): Kafka's ACL administration over the ACL core
// (core/acls.ts: the same calls as HTTP's /v1/acls, authorized the same way). Kafka's int8 codes
// become Strata's names here (@strata/kafka-protocol acl-codes.ts); a code Strata has no name for
// (a user resource, CLUSTER_ACTION, UNKNOWN) is refused in a creation and matches nothing in a filter.

import {
  ACL_ANY,
  ACL_PATTERN_MATCH,
  ApiKey,
  KafkaError,
  aclOperationCode,
  aclPatternTypeCode,
  aclPermissionCode,
  aclResourceTypeCode,
} from '@strata/kafka-protocol';
import { aclBindingProblems, isStrataError, type AclBinding, type AclFilter } from '@strata/protocol';
import { AclsCore } from '../../core/acls.js';
import { countError, decodeBody, errorCode, originOf, respond, type HandlerDeps, type KafkaHandler } from './context.js';

interface KafkaFilter {
  resourceTypeFilter: number;
  resourceNameFilter: string | null;
  patternTypeFilter: number;
  principalFilter: string | null;
  hostFilter: string | null;
  operation: number;
  permissionType: number;
}

/** The filter in Strata's terms; null when a code names nothing Strata stores (the filter matches nothing). */
function filterOf(f: KafkaFilter): AclFilter | null {
  const filter: AclFilter = {};
  if (f.resourceTypeFilter !== ACL_ANY) {
    const type = aclResourceTypeCode.name(f.resourceTypeFilter);
    if (type === null) return null;
    filter.resourceType = type;
  }
  if (f.patternTypeFilter === ACL_PATTERN_MATCH) filter.patternType = 'match';
  else if (f.patternTypeFilter !== ACL_ANY) {
    const pattern = aclPatternTypeCode.name(f.patternTypeFilter);
    if (pattern === null) return null;
    filter.patternType = pattern;
  }
  if (f.operation !== ACL_ANY) {
    const operation = aclOperationCode.name(f.operation);
    if (operation === null) return null;
    filter.operation = operation;
  }
  if (f.permissionType !== ACL_ANY) {
    const permission = aclPermissionCode.name(f.permissionType);
    if (permission === null) return null;
    filter.permission = permission;
  }
  if (f.resourceNameFilter !== null) filter.resourceName = f.resourceNameFilter;
  if (f.principalFilter !== null) filter.principal = f.principalFilter;
  if (f.hostFilter !== null) filter.host = f.hostFilter;
  return filter;
}

function codesOf(b: AclBinding): { resourceType: number; patternType: number; operation: number; permissionType: number } {
  return {
    resourceType: aclResourceTypeCode.code(b.resourceType),
    patternType: aclPatternTypeCode.code(b.patternType),
    operation: aclOperationCode.code(b.operation),
    permissionType: aclPermissionCode.code(b.permission),
  };
}

export function describeAclsHandler(deps: HandlerDeps): KafkaHandler {
  const acls = new AclsCore(deps.ctx);
  return async (request) => {
    const body = decodeBody(ApiKey.DescribeAcls, request);
    const filter = filterOf(body);
    try {
      const found = filter === null ? [] : await acls.list(filter, originOf(request), request.signal);
      // Kafka groups the bindings by resource (type, name, pattern type).
      const resources = new Map<string, { resourceType: number; resourceName: string; patternType: number; acls: Array<{ principal: string; host: string; operation: number; permissionType: number }> }>();
      for (const b of found) {
        const codes = codesOf(b);
        const key = JSON.stringify([b.resourceType, b.resourceName, b.patternType]);
        let resource = resources.get(key);
        if (resource === undefined) resources.set(key, (resource = { resourceType: codes.resourceType, resourceName: b.resourceName, patternType: codes.patternType, acls: [] }));
        resource.acls.push({ principal: b.principal, host: b.host, operation: codes.operation, permissionType: codes.permissionType });
      }
      return respond(ApiKey.DescribeAcls, request, { throttleTimeMs: 0, errorCode: KafkaError.NONE, errorMessage: null, resources: [...resources.values()] });
    } catch (e) {
      if (!isStrataError(e)) throw e;
      return respond(ApiKey.DescribeAcls, request, { throttleTimeMs: 0, errorCode: errorCode(deps, 'DescribeAcls', e), errorMessage: e.message, resources: [] });
    }
  };
}

export function createAclsHandler(deps: HandlerDeps): KafkaHandler {
  const acls = new AclsCore(deps.ctx);
  return async (request) => {
    const body = decodeBody(ApiKey.CreateAcls, request);
    const results: Array<{ errorCode: number; errorMessage: string | null }> = [];
    const valid: AclBinding[] = [];
    const validAt: number[] = [];
    for (const c of body.creations) {
      const binding = {
        principal: c.principal,
        host: c.host,
        resourceType: aclResourceTypeCode.name(c.resourceType),
        patternType: aclPatternTypeCode.name(c.resourcePatternType),
        resourceName: c.resourceName,
        operation: aclOperationCode.name(c.operation),
        permission: aclPermissionCode.name(c.permissionType),
      } as AclBinding;
      const problems = aclBindingProblems(binding);
      if (problems.length > 0) {
        results.push({ errorCode: countError(deps, 'CreateAcls', KafkaError.INVALID_REQUEST), errorMessage: `invalid ACL binding: ${problems.join('; ')}` });
        continue;
      }
      validAt.push(results.length);
      results.push({ errorCode: KafkaError.NONE, errorMessage: null });
      valid.push(binding);
    }
    if (valid.length > 0) {
      try {
        await acls.create(valid, originOf(request), request.signal);
      } catch (e) {
        if (!isStrataError(e)) throw e;
        const code = errorCode(deps, 'CreateAcls', e);
        for (const i of validAt) results[i] = { errorCode: code, errorMessage: e.message };
      }
    }
    return respond(ApiKey.CreateAcls, request, { throttleTimeMs: 0, results });
  };
}

export function deleteAclsHandler(deps: HandlerDeps): KafkaHandler {
  const acls = new AclsCore(deps.ctx);
  return async (request) => {
    const body = decodeBody(ApiKey.DeleteAcls, request);
    const filterResults = [];
    for (const f of body.filters) {
      const filter = filterOf(f);
      try {
        const deleted = filter === null ? [] : await acls.delete(filter, originOf(request), request.signal);
        filterResults.push({
          errorCode: KafkaError.NONE,
          errorMessage: null,
          matchingAcls: deleted.map((b) => ({ errorCode: KafkaError.NONE, errorMessage: null, resourceName: b.resourceName, principal: b.principal, host: b.host, ...codesOf(b) })),
        });
      } catch (e) {
        if (!isStrataError(e)) throw e;
        filterResults.push({ errorCode: errorCode(deps, 'DeleteAcls', e), errorMessage: e.message, matchingAcls: [] });
      }
    }
    return respond(ApiKey.DeleteAcls, request, { throttleTimeMs: 0, filterResults });
  };
}
