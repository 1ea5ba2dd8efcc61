/** `strata quotas list|set|delete`: client quotas (docs/architecture.md#quotas; Kafka's kafka-configs --entity-type users/clients/ips). */
import type { QuotaEntity, QuotaRecord, QuotaValues } from '@strata/client';
import { booleanOption, stringOption, UsageError, type OptionSpecs } from '../args.js';
import type { Command, CommandContext } from '../command.js';
import { once } from '../broker-client.js';
import { formatTable } from '../report.js';

const QUOTA_KEYS = ['producer_byte_rate', 'consumer_byte_rate', 'request_percentage', 'connection_creation_rate'] as const;
type QuotaKey = (typeof QUOTA_KEYS)[number];

const ENTITY_OPTIONS: OptionSpecs = {
  user: { type: 'string' },
  'user-default': { type: 'boolean' },
  'client-id': { type: 'string' },
  'client-id-default': { type: 'boolean' },
  ip: { type: 'string' },
  'ip-default': { type: 'boolean' },
};
const ENTITY_HELP: Array<[string, string]> = [
  ['--user NAME | --user-default', 'the user (the principal\'s name; ANONYMOUS when unauthenticated), or every user without a quota of its own'],
  ['--client-id ID | --client-id-default', 'the client id (Kafka\'s client.id; HTTP\'s X-Client-Id), or every client id without one'],
  ['--ip ADDRESS | --ip-default', 'an IP address (connection_creation_rate only), or every address without one'],
];

/** The entity the options name; a usage error for none, for both a name and the default, or ip beside the others. */
function entityOf(ctx: CommandContext): QuotaEntity {
  const entity: QuotaEntity = {};
  for (const [field, flag] of [['user', 'user'], ['clientId', 'client-id'], ['ip', 'ip']] as const) {
    const name = stringOption(ctx.values, flag);
    const isDefault = booleanOption(ctx.values, `${flag}-default`);
    if (name !== undefined && isDefault) throw new UsageError(`--${flag} and --${flag}-default name different entities: give one`);
    if (name !== undefined) entity[field] = name;
    else if (isDefault) entity[field] = null;
  }
  if (Object.keys(entity).length === 0) throw new UsageError('name an entity: --user, --client-id (or both), or --ip (or their --*-default)');
  if (entity.ip !== undefined && Object.keys(entity).length > 1) throw new UsageError('--ip cannot be combined with --user or --client-id');
  return entity;
}

function entityText(entity: QuotaEntity): string {
  const part = (type: string, name: string | null | undefined) => (name === undefined ? [] : [`${type}=${name === null ? '<default>' : name}`]);
  return [...part('user', entity.user), ...part('client-id', entity.clientId), ...part('ip', entity.ip)].join(',');
}

function valuesText(values: QuotaValues): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

function writeList(ctx: CommandContext, quotas: QuotaRecord[]): void {
  if (booleanOption(ctx.values, 'json')) ctx.io.stdout.write(JSON.stringify({ quotas }) + '\n');
  else if (quotas.length === 0) ctx.io.stdout.write('no quotas\n');
  else ctx.io.stdout.write(formatTable(['ENTITY', 'QUOTAS'], quotas.map((q) => [entityText(q.entity), valuesText(q.values)])));
}

export const quotasList: Command = {
  name: 'quotas list',
  summary: 'list client quotas',
  usage: 'quotas list [--json]',
  options: { json: { type: 'boolean' } },
  optionHelp: [['--json', 'print the broker\'s JSON answer instead of a table']],
  examples: ['strata quotas list', 'strata quotas list --json | jq ".quotas[]"'],
  minPositionals: 0,
  maxPositionals: 0,
  positionalNames: [],
  usesBroker: true,
  async run(ctx) {
    writeList(ctx, await ctx.client.listQuotas(once()));
    return 0;
  },
};

const VALUE_OPTIONS: Record<QuotaKey, string> = {
  producer_byte_rate: 'producer-byte-rate',
  consumer_byte_rate: 'consumer-byte-rate',
  request_percentage: 'request-percentage',
  connection_creation_rate: 'connection-creation-rate',
};

export const quotasSet: Command = {
  name: 'quotas set',
  summary: 'set client quotas of a user, a client id, both, or an IP address',
  usage: 'quotas set <entity> [--producer-byte-rate N] [--consumer-byte-rate N] [--request-percentage P] [--connection-creation-rate N]',
  description:
    'For each quota a client is held to the most specific entity that has it, in Kafka\'s order (user and client id, user, default user, client id, default client id). ' +
    'Enforced per broker: Kafka clients get throttle_time_ms and a muted connection, HTTP clients 429 with Retry-After.',
  options: { ...ENTITY_OPTIONS, json: { type: 'boolean' }, ...Object.fromEntries(Object.values(VALUE_OPTIONS).map((flag) => [flag, { type: 'string' }])) },
  optionHelp: [
    ...ENTITY_HELP,
    ['--producer-byte-rate N', 'bytes per second the entity may produce, per broker'],
    ['--consumer-byte-rate N', 'bytes per second the entity may fetch, per broker'],
    ['--request-percentage P', 'share of one request-handling thread, in percent, per broker'],
    ['--connection-creation-rate N', 'new connections per second (with --ip)'],
    ['--json', 'print every stored quota as JSON afterwards'],
  ],
  examples: ['strata quotas set --user alice --producer-byte-rate 1048576', 'strata quotas set --client-id-default --consumer-byte-rate 10485760', 'strata quotas set --ip 10.0.0.7 --connection-creation-rate 10'],
  minPositionals: 0,
  maxPositionals: 0,
  positionalNames: [],
  usesBroker: true,
  async run(ctx) {
    const entity = entityOf(ctx);
    const set: QuotaValues = {};
    for (const key of QUOTA_KEYS) {
      const raw = stringOption(ctx.values, VALUE_OPTIONS[key]);
      if (raw === undefined) continue;
      const value = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(value)) throw new UsageError(`--${VALUE_OPTIONS[key]} expects a number, got '${raw}'`);
      set[key] = value;
    }
    if (Object.keys(set).length === 0) throw new UsageError(`give at least one quota: ${Object.values(VALUE_OPTIONS).map((f) => `--${f}`).join(', ')}`);
    const quotas = await ctx.client.alterQuotas([{ entity, set }], once());
    if (booleanOption(ctx.values, 'json')) writeList(ctx, quotas);
    else ctx.io.stdout.write(`set ${valuesText(set)} for ${entityText(entity)}\n`);
    return 0;
  },
};

export const quotasDelete: Command = {
  name: 'quotas delete',
  summary: 'remove client quotas of an entity (the named keys, or all)',
  usage: 'quotas delete <entity> [--key KEY ...]',
  options: { ...ENTITY_OPTIONS, key: { type: 'string', multiple: true } },
  optionHelp: [...ENTITY_HELP, ['--key KEY', `a quota to remove (${QUOTA_KEYS.join(', ')}); default: all of them`]],
  examples: ['strata quotas delete --user alice', 'strata quotas delete --client-id-default --key consumer_byte_rate'],
  minPositionals: 0,
  maxPositionals: 0,
  positionalNames: [],
  usesBroker: true,
  async run(ctx) {
    const entity = entityOf(ctx);
    const given = (ctx.values['key'] as string[] | undefined) ?? [];
    for (const k of given) if (!(QUOTA_KEYS as readonly string[]).includes(k)) throw new UsageError(`--key ${k}: not a quota (${QUOTA_KEYS.join(', ')})`);
    const keys = given.length > 0 ? (given as QuotaKey[]) : entity.ip !== undefined ? ['connection_creation_rate' as const] : QUOTA_KEYS.filter((k) => k !== 'connection_creation_rate');
    await ctx.client.alterQuotas([{ entity, remove: keys }], once());
    ctx.io.stdout.write(`removed ${keys.join(', ')} of ${entityText(entity)}\n`);
    return 0;
  },
};

export const quotasCommands: Command[] = [quotasList, quotasSet, quotasDelete];
