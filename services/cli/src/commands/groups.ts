/** `strata groups list|describe|delete|reset-offsets`: consumer groups (docs/architecture.md#groups). */
import { intOption, parseIntStrict, parseTimestamp, stringOption, booleanOption, UsageError } from '../args.js';
import type { Command, CommandContext } from '../command.js';
import type { ResetTarget } from '@strata/client';
import { once } from '../broker-client.js';
import { formatTable } from '../report.js';
import { planReset } from './reset-plan.js';

const partitionsText = (list: Array<{ topic: string; partitions: number[] }>): string =>
  list.length === 0 ? '-' : list.map((tp) => `${tp.topic}:${tp.partitions.join(',')}`).join(' ');
const orDash = (value: number | string | null): string | number => (value === null ? '-' : value);

export const groupsList: Command = {
  name: 'groups list',
  summary: 'list consumer groups',
  usage: 'groups list [--json]',
  options: { json: { type: 'boolean' } },
  optionHelp: [['--json', 'print the broker\'s JSON answer instead of a table']],
  examples: ['strata groups list', 'strata groups list --json | jq -r ".groups[].group"'],
  minPositionals: 0,
  maxPositionals: 0,
  positionalNames: [],
  usesBroker: true,
  async run(ctx) {
    const groups = await ctx.client.listGroups(once());
    if (booleanOption(ctx.values, 'json')) {
      ctx.io.stdout.write(JSON.stringify({ groups }) + '\n');
      return 0;
    }
    if (groups.length === 0) {
      ctx.io.stdout.write('no groups\n');
      return 0;
    }
    ctx.io.stdout.write(formatTable(['GROUP', 'STATE', 'MEMBERS'], groups.map((g) => [g.group, g.state, g.members])));
    return 0;
  },
};

export const groupsDescribe: Command = {
  name: 'groups describe',
  summary: 'show a group: members, assignment, committed offsets and lag',
  usage: 'groups describe <group> [--json]',
  options: { json: { type: 'boolean' } },
  optionHelp: [['--json', 'print the broker\'s JSON answer instead of a table']],
  examples: ['strata groups describe billing'],
  minPositionals: 1,
  maxPositionals: 1,
  positionalNames: ['group'],
  usesBroker: true,
  async run(ctx) {
    const group = ctx.positionals[0] as string;
    const d = await ctx.client.describeGroup(group, once());
    if (booleanOption(ctx.values, 'json')) {
      ctx.io.stdout.write(JSON.stringify(d) + '\n');
      return 0;
    }
    const classic = d.classic;
    let text =
      classic !== undefined && classic.members.length > 0
        ? `group ${d.group}  state ${d.state}  classic (Kafka) generation ${classic.generation}  protocol ${classic.protocolType}/${classic.protocol}  members ${classic.members.length}\n\n`
        : `group ${d.group}  state ${d.state}  epoch ${d.groupEpoch}  members ${d.members.length}\n\n`;
    if (classic !== undefined && classic.members.length > 0) {
      text += formatTable(
        ['MEMBER', 'INSTANCE', 'CLIENT', 'HOST', 'ASSIGNED'],
        classic.members.map((m) => [m.memberId + (m.memberId === classic.leader ? ' (leader)' : ''), m.groupInstanceId ?? '-', m.clientId || '-', m.clientHost || '-', partitionsText(m.assigned)]),
      );
      text += '\n';
    }
    if (d.members.length > 0) {
      text += formatTable(
        ['MEMBER', 'CLIENT', 'EPOCH', 'ASSIGNED', 'REVOKING'],
        d.members.map((m) => [m.memberId, m.clientId || '-', m.memberEpoch, partitionsText(m.assignment), partitionsText(m.pendingRevocation)]),
      );
      text += '\n';
    }
    text += formatTable(
      ['TOPIC', 'PARTITION', 'COMMITTED', 'HIGH-WATERMARK', 'LAG', 'OWNER'],
      d.partitions.map((p) => [p.topic, p.partition, orDash(p.offset), orDash(p.highWatermark), orDash(p.lag), p.owner ?? '-']),
    );
    text += `\n${totalLagLine(d.partitions)}\n`;
    ctx.io.stdout.write(text);
    return 0;
  },
};

/**
 * A partition without a commit has no lag (null), not a lag of 0: summing it as 0 would tell the
 * user a group that never committed is caught up.
 */
export function totalLagLine(partitions: ReadonlyArray<{ lag: number | null }>): string {
  const known = partitions.filter((p) => p.lag !== null);
  if (known.length === 0) return 'total lag - (nothing committed)';
  const total = known.reduce((sum, p) => sum + (p.lag ?? 0), 0);
  const missing = partitions.length - known.length;
  return missing === 0 ? `total lag ${total}` : `total lag ${total} (${missing} partition${missing === 1 ? '' : 's'} with nothing committed not counted)`;
}

export const groupsDelete: Command = {
  name: 'groups delete',
  summary: 'delete a consumer group and its committed offsets (the group must have no members)',
  usage: 'groups delete <group>',
  options: {},
  optionHelp: [],
  examples: ['strata groups delete billing'],
  minPositionals: 1,
  maxPositionals: 1,
  positionalNames: ['group'],
  usesBroker: true,
  async run(ctx) {
    const group = ctx.positionals[0] as string;
    await ctx.client.deleteGroup(group, once());
    ctx.io.stdout.write(`deleted group '${group}'\n`);
    return 0;
  },
};

type Target = ResetTarget;

function parseTarget(ctx: CommandContext): Target {
  const chosen: Target[] = [];
  if (booleanOption(ctx.values, 'to-earliest')) chosen.push('earliest');
  if (booleanOption(ctx.values, 'to-latest')) chosen.push('latest');
  const offset = intOption(ctx.values, 'to-offset', { min: 0 });
  if (offset !== undefined) chosen.push({ offset });
  const ts = stringOption(ctx.values, 'to-timestamp');
  if (ts !== undefined) chosen.push({ timestamp: parseTimestamp(ts, '--to-timestamp') });
  if (chosen.length !== 1) throw new UsageError('give exactly one of --to-earliest, --to-latest, --to-offset N, --to-timestamp T');
  return chosen[0]!;
}

export const groupsResetOffsets: Command = {
  name: 'groups reset-offsets',
  summary: "move a group's committed offsets (the group must have no members)",
  usage: 'groups reset-offsets <group> --topic T (--to-earliest | --to-latest | --to-offset N | --to-timestamp T) [--partitions 0,1,...] [--dry-run | --execute]',
  description:
    'earliest is the log start across tiers (the bucket included), latest the high watermark; an offset is\n' +
    'clamped into the log; a timestamp (epoch ms or ISO-8601) moves to the first record at or after it.\n' +
    'Stop the group\'s consumers first: a group with members is refused (NON_EMPTY_GROUP).\n' +
    'Without --execute nothing changes: the command prints the plan (current and new offset per partition).',
  options: {
    topic: { type: 'string' },
    partitions: { type: 'string' },
    'to-earliest': { type: 'boolean' },
    'to-latest': { type: 'boolean' },
    'to-offset': { type: 'string' },
    'to-timestamp': { type: 'string' },
    'dry-run': { type: 'boolean' },
    execute: { type: 'boolean' },
  },
  optionHelp: [
    ['--topic T', 'the topic whose offsets move (required)'],
    ['--partitions LIST', 'only these partitions, comma-separated (default: all)'],
    ['--to-earliest', 'to the log start'],
    ['--to-latest', 'to the high watermark (skip everything)'],
    ['--to-offset N', 'to offset N'],
    ['--to-timestamp T', 'to the first record at or after T (epoch ms or ISO-8601)'],
    ['--dry-run', 'print the plan, change nothing (the default)'],
    ['--execute', 'apply the reset'],
  ],
  examples: [
    'strata groups reset-offsets billing --topic orders --to-earliest',
    'strata groups reset-offsets billing --topic orders --to-earliest --execute',
    'strata groups reset-offsets billing --topic orders --to-timestamp 2024-05-01T00:00:00Z --execute',
  ],
  minPositionals: 1,
  maxPositionals: 1,
  positionalNames: ['group'],
  usesBroker: true,
  async run(ctx) {
    const group = ctx.positionals[0] as string;
    const topic = stringOption(ctx.values, 'topic');
    if (topic === undefined) throw new UsageError('--topic is required');
    const target = parseTarget(ctx);
    const rawPartitions = stringOption(ctx.values, 'partitions');
    const partitions = rawPartitions?.split(',').map((p) => parseIntStrict(p, '--partitions', { min: 0, max: 2 ** 31 - 1 }));
    const execute = booleanOption(ctx.values, 'execute');
    if (execute && booleanOption(ctx.values, 'dry-run')) throw new UsageError('give --dry-run or --execute, not both');
    if (!execute) {
      const plan = await planReset(ctx.client, group, topic, target, partitions);
      let text = formatTable(
        ['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'NEW-OFFSET'],
        plan.rows.map((r) => [r.topic, r.partition, orDash(r.current), r.target]),
      );
      if (plan.members > 0) text += `\nthe group has ${plan.members} member${plan.members === 1 ? '' : 's'}: stop its consumers first, --execute is refused while it has any\n`;
      text += `\ndry run: nothing changed; add --execute to apply\n`;
      ctx.io.stdout.write(text);
      return 0;
    }
    const offsets = await ctx.client.resetOffsets(group, topic, target, partitions, once());
    ctx.io.stdout.write(formatTable(['TOPIC', 'PARTITION', 'NEW-OFFSET'], offsets.map((o) => [o.topic, o.partition, o.offset])));
    return 0;
  },
};

export const groupsCommands: Command[] = [groupsList, groupsDescribe, groupsDelete, groupsResetOffsets];
