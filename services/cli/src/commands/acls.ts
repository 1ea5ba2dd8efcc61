/** `strata acls create|list|delete`: Kafka's ACL bindings (the broker's /v1/acls). */
import {
  ACL_OPERATIONS,
  ACL_PATTERN_TYPES,
  ACL_PERMISSIONS,
  ACL_RESOURCE_TYPES,
  CLUSTER_RESOURCE_NAME,
  type AclBinding,
  type AclFilter,
  type AclOperation,
} from '@strata/protocol';
import { booleanOption, listOption, stringOption, UsageError } from '../args.js';
import type { Command, CommandContext } from '../command.js';
import { once } from '../broker-client.js';
import { formatTable } from '../report.js';

const FILTER_OPTIONS = {
  principal: { type: 'string' },
  host: { type: 'string' },
  'resource-type': { type: 'string' },
  pattern: { type: 'string' },
  resource: { type: 'string' },
  operation: { type: 'string', multiple: true },
  permission: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const FILTER_HELP: Array<[string, string]> = [
  ['--principal User:<name>', 'Kafka\'s form; User:* is every principal (an mTLS client is User:<certificate subject>)'],
  ['--host ADDRESS', '"*" or one IP address'],
  ['--resource-type TYPE', ACL_RESOURCE_TYPES.join(' | ')],
  ['--pattern TYPE', 'literal | prefixed (list and delete also: match, any)'],
  ['--resource NAME', 'a topic, group or transactional id, a prefix, or "*"; the cluster is kafka-cluster'],
  ['--operation OP', `${ACL_OPERATIONS.join(' | ')}; repeatable when creating`],
  ['--permission P', 'allow | deny'],
  ['--json', 'print the broker\'s JSON answer instead of a table'],
];

function oneOf<T extends string>(ctx: CommandContext, flag: string, values: readonly T[]): T | undefined {
  const value = stringOption(ctx.values, flag);
  if (value !== undefined && !values.includes(value as T)) throw new UsageError(`--${flag} must be one of ${values.join(', ')}, got '${value}'`);
  return value as T | undefined;
}

function checkedOperation(op: string): AclOperation {
  if (!(ACL_OPERATIONS as readonly string[]).includes(op)) throw new UsageError(`--operation must be one of ${ACL_OPERATIONS.join(', ')}, got '${op}'`);
  return op as AclOperation;
}

function filterOf(ctx: CommandContext): AclFilter {
  const operations = listOption(ctx.values, 'operation');
  if (operations.length > 1) throw new UsageError('--operation: give one operation to filter by');
  const filter: AclFilter = {};
  const set = (key: keyof AclFilter, value: string | undefined): void => {
    if (value !== undefined) (filter as Record<string, string>)[key] = value;
  };
  set('principal', stringOption(ctx.values, 'principal'));
  set('host', stringOption(ctx.values, 'host'));
  set('resourceType', oneOf(ctx, 'resource-type', ACL_RESOURCE_TYPES));
  set('patternType', oneOf(ctx, 'pattern', [...ACL_PATTERN_TYPES, 'match', 'any'] as const));
  set('resourceName', stringOption(ctx.values, 'resource'));
  set('operation', operations.length === 0 ? undefined : checkedOperation(operations[0]!));
  set('permission', oneOf(ctx, 'permission', ACL_PERMISSIONS));
  return filter;
}

function table(acls: readonly AclBinding[]): string {
  return formatTable(
    ['PRINCIPAL', 'HOST', 'RESOURCE-TYPE', 'PATTERN', 'RESOURCE', 'OPERATION', 'PERMISSION'],
    acls.map((a) => [a.principal, a.host, a.resourceType, a.patternType, a.resourceName, a.operation, a.permission]),
  );
}

export const aclsCreate: Command = {
  name: 'acls create',
  summary: 'add ACL bindings (one per --operation)',
  usage: 'acls create --principal User:<name> --resource-type TYPE [--resource NAME] --operation OP ... [--pattern literal|prefixed] [--permission allow|deny] [--host ADDRESS]',
  options: FILTER_OPTIONS,
  optionHelp: FILTER_HELP,
  examples: [
    'strata acls create --principal User:alice --resource-type topic --pattern prefixed --resource orders. --operation read --operation write',
    'strata acls create --principal User:bob --resource-type group --resource billing --operation read',
    'strata acls create --principal User:* --resource-type topic --resource payments --operation all --permission deny',
  ],
  minPositionals: 0,
  maxPositionals: 0,
  positionalNames: [],
  usesBroker: true,
  async run(ctx) {
    const principal = stringOption(ctx.values, 'principal');
    const resourceType = oneOf(ctx, 'resource-type', ACL_RESOURCE_TYPES);
    const operations = listOption(ctx.values, 'operation');
    if (principal === undefined || resourceType === undefined || operations.length === 0) throw new UsageError('acls create needs --principal, --resource-type and at least one --operation');
    const resourceName = stringOption(ctx.values, 'resource') ?? (resourceType === 'cluster' ? CLUSTER_RESOURCE_NAME : undefined);
    if (resourceName === undefined) throw new UsageError('acls create needs --resource (a name, a prefix with --pattern prefixed, or "*")');
    const base = {
      principal,
      host: stringOption(ctx.values, 'host') ?? '*',
      resourceType,
      patternType: oneOf(ctx, 'pattern', ACL_PATTERN_TYPES) ?? 'literal',
      resourceName,
      permission: oneOf(ctx, 'permission', ACL_PERMISSIONS) ?? 'allow',
    };
    const acls: AclBinding[] = operations.map((operation) => ({ ...base, operation: checkedOperation(operation) }));
    const created = await ctx.client.createAcls(acls, once());
    if (booleanOption(ctx.values, 'json')) ctx.io.stdout.write(JSON.stringify({ created, acls }) + '\n');
    else ctx.io.stdout.write(`created ${created} ACL binding${created === 1 ? '' : 's'} (${acls.length - created} stored already)\n`);
    return 0;
  },
};

export const aclsList: Command = {
  name: 'acls list',
  summary: 'list the ACL bindings a filter matches',
  usage: 'acls list [filter options] [--json]',
  options: FILTER_OPTIONS,
  optionHelp: FILTER_HELP,
  examples: ['strata acls list', 'strata acls list --principal User:alice', 'strata acls list --resource-type topic --pattern match --resource orders.eu'],
  minPositionals: 0,
  maxPositionals: 0,
  positionalNames: [],
  usesBroker: true,
  async run(ctx) {
    const acls = await ctx.client.listAcls(filterOf(ctx), once());
    ctx.io.stdout.write(booleanOption(ctx.values, 'json') ? JSON.stringify({ acls }) + '\n' : table(acls));
    return 0;
  },
};

export const aclsDelete: Command = {
  name: 'acls delete',
  summary: 'delete the ACL bindings a filter matches',
  usage: 'acls delete (filter options | --all) [--json]',
  options: { ...FILTER_OPTIONS, all: { type: 'boolean' } },
  optionHelp: [...FILTER_HELP, ['--all', 'delete every binding (a filter with no option is refused without it)']],
  examples: ['strata acls delete --principal User:alice --resource-type topic --resource orders', 'strata acls delete --all'],
  minPositionals: 0,
  maxPositionals: 0,
  positionalNames: [],
  usesBroker: true,
  async run(ctx) {
    const filter = filterOf(ctx);
    if (Object.keys(filter).length === 0 && !booleanOption(ctx.values, 'all')) throw new UsageError('acls delete without a filter would delete every binding: give a filter, or --all');
    const deleted = await ctx.client.deleteAcls(filter, once());
    ctx.io.stdout.write(booleanOption(ctx.values, 'json') ? JSON.stringify({ deleted }) + '\n' : `deleted ${deleted.length} ACL binding${deleted.length === 1 ? '' : 's'}\n${deleted.length === 0 ? '' : table(deleted)}`);
    return 0;
  },
};

export const aclsCommands: Command[] = [aclsCreate, aclsList, aclsDelete];
