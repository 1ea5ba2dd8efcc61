/** `strata topics create|list|describe|alter-config|delete|add-partitions|delete-records`. */
import { booleanOption, intOption, listOption, UsageError } from '../args.js';
import type { Command, CommandContext } from '../command.js';
import { once } from '../broker-client.js';
import { formatTable } from '../report.js';

const MAX_PARTITIONS = 10_000;

function parseConfigs(pairs: string[], flag = '--config'): Record<string, string> | undefined {
  if (pairs.length === 0) return undefined;
  // Entries, then fromEntries: every key is an own key, so `--config __proto__=x` reaches the
  // broker (which refuses it as an unknown config) instead of vanishing into the prototype.
  const entries: Array<[string, string]> = [];
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag} expects key=value, got '${pair}'`);
    entries.push([pair.slice(0, eq), pair.slice(eq + 1)]);
  }
  return Object.fromEntries(entries);
}

function topicArg(ctx: CommandContext): string {
  return ctx.positionals[0] as string; // presence checked by the dispatcher (minPositionals)
}

function writeOut(ctx: CommandContext, text: string): void {
  ctx.io.stdout.write(text);
}

export const topicsCreate: Command = {
  name: 'topics create',
  summary: 'create a topic',
  usage: 'topics create <name> [--partitions N] [--replication-factor N] [--config key=value ...]',
  options: {
    partitions: { type: 'string' },
    'replication-factor': { type: 'string' },
    config: { type: 'string', multiple: true },
  },
  optionHelp: [
    ['--partitions N', 'number of partitions (default 1)'],
    ['--replication-factor N', 'replicas per partition (default: the broker\'s default)'],
    ['--config key=value', 'a topic config, Kafka names (retention.ms, segment.bytes, flush.messages, ...); repeatable'],
  ],
  examples: [
    'strata topics create orders --partitions 3',
    'strata topics create audit --config retention.ms=604800000 --config flush.messages=1',
  ],
  minPositionals: 1,
  maxPositionals: 1,
  positionalNames: ['name'],
  usesBroker: true,
  async run(ctx) {
    const name = topicArg(ctx);
    const partitions = intOption(ctx.values, 'partitions', { min: 1, max: MAX_PARTITIONS }) ?? 1;
    const replicationFactor = intOption(ctx.values, 'replication-factor', { min: 1, max: 64 });
    const configs = parseConfigs(listOption(ctx.values, 'config'));
    await ctx.client.createTopic(
      {
        name,
        partitions,
        ...(replicationFactor === undefined ? {} : { replicationFactor }),
        ...(configs === undefined ? {} : { configs }),
      },
      once(),
    );
    writeOut(ctx, `created topic '${name}' with ${partitions} partition${partitions === 1 ? '' : 's'}\n`);
    return 0;
  },
};

export const topicsList: Command = {
  name: 'topics list',
  summary: 'list topics',
  usage: 'topics list [--json]',
  options: { json: { type: 'boolean' } },
  optionHelp: [['--json', 'print the broker\'s JSON answer instead of a table']],
  examples: ['strata topics list', 'strata topics list --json | jq -r ".topics[].name"'],
  minPositionals: 0,
  maxPositionals: 0,
  positionalNames: [],
  usesBroker: true,
  async run(ctx) {
    const answer = { topics: await ctx.client.listTopics(once()) };
    if (booleanOption(ctx.values, 'json')) {
      writeOut(ctx, JSON.stringify(answer) + '\n');
      return 0;
    }
    const topics = [...answer.topics].sort((a, b) => a.name.localeCompare(b.name));
    writeOut(
      ctx,
      formatTable(
        ['NAME', 'PARTITIONS', 'REPLICATION-FACTOR'],
        topics.map((t) => [t.name, t.partitions, t.replicationFactor]),
      ),
    );
    return 0;
  },
};

export const topicsDescribe: Command = {
  name: 'topics describe',
  summary: 'show a topic\'s configs and partitions',
  usage: 'topics describe <name> [--json]',
  options: { json: { type: 'boolean' } },
  optionHelp: [['--json', 'print the broker\'s JSON answer instead of a table']],
  examples: ['strata topics describe orders'],
  minPositionals: 1,
  maxPositionals: 1,
  positionalNames: ['name'],
  usesBroker: true,
  async run(ctx) {
    const topic = await ctx.client.describeTopic(topicArg(ctx), once());
    if (booleanOption(ctx.values, 'json')) {
      writeOut(ctx, JSON.stringify(topic) + '\n');
      return 0;
    }
    const configs = Object.entries(topic.configs ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${String(v)}`);
    let text = `Topic: ${topic.name}  Partitions: ${topic.partitions.length}\n`;
    text += `Configs: ${configs.length === 0 ? '(defaults)' : configs.join(', ')}\n`;
    // An offline partition (its log could not be opened) shows its number and the reason.
    const partitions = [...topic.partitions].sort((a, b) => a.partition - b.partition);
    // Two tiers: the bucket holds [LOG-START, REMOTE-END), the local disk [LOCAL-START, HIGH-WATERMARK).
    text += formatTable(
      ['PARTITION', 'LEADER', 'REPLICAS', 'ISR', 'LOG-START', 'REMOTE-END', 'LOCAL-START', 'HIGH-WATERMARK', 'REMOTE-BYTES', 'LOCAL-BYTES', 'UPLOAD-LAG'],
      partitions.map((p) =>
        'offline' in p
          ? [p.partition, `offline: ${p.error}`, '-', '-', '-', '-', '-', '-', '-', '-', '-']
          : [
              p.partition,
              p.leader ?? '-',
              p.replicas.length === 0 ? '-' : p.replicas.join(','),
              p.isr.length === 0 ? '-' : p.isr.join(','),
              p.logStartOffset,
              p.remoteLogEndOffset,
              p.localLogStartOffset,
              p.highWatermark,
              p.remoteBytes,
              p.localBytes,
              `${p.uploadLagSegments} seg / ${p.uploadLagBytes} B`,
            ],
      ),
    );
    writeOut(ctx, text);
    return 0;
  },
};

export const topicsAlterConfig: Command = {
  name: 'topics alter-config',
  summary: 'set or reset topic configs',
  usage: 'topics alter-config <name> (--set key=value | --reset key) ...',
  description: 'All or nothing: every key is checked before any changes; every problem is listed (INVALID_CONFIG).',
  options: {
    set: { type: 'string', multiple: true },
    reset: { type: 'string', multiple: true },
  },
  optionHelp: [
    ['--set key=value', 'set a config, Kafka names (retention.ms, segment.bytes, ...); repeatable'],
    ['--reset key', 'back to the broker default; repeatable'],
  ],
  examples: ['strata topics alter-config orders --set retention.ms=86400000 --reset cleanup.policy'],
  minPositionals: 1,
  maxPositionals: 1,
  positionalNames: ['name'],
  usesBroker: true,
  async run(ctx) {
    const name = topicArg(ctx);
    const set = parseConfigs(listOption(ctx.values, 'set'), '--set') ?? {};
    const reset = listOption(ctx.values, 'reset');
    const both = reset.filter((key) => Object.hasOwn(set, key));
    if (both.length > 0) throw new UsageError(`both --set and --reset for '${both.join("', '")}'`);
    const changes: Record<string, string | null> = { ...set };
    for (const key of reset) {
      if (key === '') throw new UsageError('--reset expects a config name');
      Object.defineProperty(changes, key, { value: null, enumerable: true, writable: true, configurable: true });
    }
    if (Object.keys(changes).length === 0) throw new UsageError('give at least one --set key=value or --reset key');
    const topic = await ctx.client.updateTopicConfigs(name, changes, once());
    const overrides = Object.entries(topic.configOverrides ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${String(v)}`);
    writeOut(ctx, `updated topic '${name}'; overrides: ${overrides.length === 0 ? '(none)' : overrides.join(', ')}\n`);
    return 0;
  },
};

export const topicsDelete: Command = {
  name: 'topics delete',
  summary: 'delete a topic and all its records',
  usage: 'topics delete <name>',
  options: {},
  optionHelp: [],
  examples: ['strata topics delete orders'],
  minPositionals: 1,
  maxPositionals: 1,
  positionalNames: ['name'],
  usesBroker: true,
  async run(ctx) {
    const name = topicArg(ctx);
    await ctx.client.deleteTopic(name, once());
    writeOut(ctx, `deleted topic '${name}'\n`);
    return 0;
  },
};

export const topicsAddPartitions: Command = {
  name: 'topics add-partitions',
  summary: 'grow a topic to N partitions (existing partitions and their data untouched)',
  usage: 'topics add-partitions <name> --partitions N',
  options: { partitions: { type: 'string' } },
  optionHelp: [['--partitions N', 'the new partition count, above the current one (a topic never shrinks)']],
  examples: ['strata topics add-partitions orders --partitions 6'],
  minPositionals: 1,
  maxPositionals: 1,
  positionalNames: ['name'],
  usesBroker: true,
  async run(ctx) {
    const name = topicArg(ctx);
    const partitions = intOption(ctx.values, 'partitions', { min: 1, max: MAX_PARTITIONS });
    if (partitions === undefined) throw new UsageError('topics add-partitions needs --partitions N (the new count)');
    const topic = await ctx.client.addPartitions(name, partitions, once());
    writeOut(ctx, `topic '${name}' now has ${topic.partitions.length} partitions\n`);
    return 0;
  },
};

export const topicsDeleteRecords: Command = {
  name: 'topics delete-records',
  summary: 'delete a partition\'s records below an offset (Kafka\'s DeleteRecords: its log start moves up)',
  usage: 'topics delete-records <name> --partition N --before OFFSET',
  options: { partition: { type: 'string' }, before: { type: 'string' } },
  optionHelp: [
    ['--partition N', 'the partition'],
    ['--before OFFSET', 'delete every record below OFFSET (at most the high watermark; -1: up to the high watermark)'],
  ],
  examples: ['strata topics delete-records orders --partition 0 --before 1000'],
  minPositionals: 1,
  maxPositionals: 1,
  positionalNames: ['name'],
  usesBroker: true,
  async run(ctx) {
    const name = topicArg(ctx);
    const partition = intOption(ctx.values, 'partition', { min: 0, max: MAX_PARTITIONS - 1 });
    const before = intOption(ctx.values, 'before', { min: -1 });
    if (partition === undefined || before === undefined) throw new UsageError('topics delete-records needs --partition N and --before OFFSET');
    const { lowWatermark } = await ctx.client.deleteRecords(name, partition, before, once());
    writeOut(ctx, `topic '${name}' partition ${partition} now starts at offset ${lowWatermark}\n`);
    return 0;
  },
};

export const topicsCommands: Command[] = [topicsCreate, topicsList, topicsDescribe, topicsAlterConfig, topicsDelete, topicsAddPartitions, topicsDeleteRecords];
