/**
 * `strata consume <topic>`: read records through GET .../partitions/{p}/records.
 *
 * One fetch loop per partition, each with at most one request outstanding and each awaiting
 * stdout before fetching more (a slow reader slows the fetches; memory stays bounded). Without
 * --follow every loop stops at the high watermark seen when the command started; with --follow the
 * loops long-poll until interrupted. Within a partition records print in offset order.
 */
import { EQUAL_JITTER, backoffMs, isStrataError, StrataError, type BackoffPolicy } from '@strata/protocol';
import {
  booleanOption,
  intOption,
  parseTimestamp,
  stringOption,
  unescapeSeparator,
  UsageError,
} from '../args.js';
import type { Command, CommandContext } from '../command.js';
import { LONG_POLL_SLACK_MS, isRefused, once, type BrokerClient } from '../broker-client.js';
import { isBrokenPipe, onShutdownSignal, writeWithBackpressure } from '../io.js';
import { formatError } from '../report.js';
import { progressLine } from '../progress.js';
import { Consumer, type Encoding, type FetchRecord } from '@strata/client';

type ValueEncoding = Encoding;
type FetchedRecord = FetchRecord;

const FETCH_MAX_RECORDS = 500;
const FETCH_MAX_BYTES = 1024 * 1024;
/** Long-poll wait of one fetch when following (the broker caps it with fetchMaxWaitMsCap). */
const FOLLOW_MAX_WAIT_MS = 10_000;
/** Retriable failures (broker restarting, timeouts) are retried this often, then reported. */
const RETRY_ATTEMPTS_MAX = 6;
const RETRY_BACKOFF_MS_MAX = 5_000;
/** Between retries of a partition's fetch: 200 ms doubling to RETRY_BACKOFF_MS_MAX, at least half of it. */
const RETRY_BACKOFF: BackoffPolicy = Object.freeze({ baseMs: 200, maxMs: RETRY_BACKOFF_MS_MAX, jitter: EQUAL_JITTER });

type Format = 'lines' | 'json';
type StartAt = { kind: 'earliest' } | { kind: 'latest' } | { kind: 'offset'; offset: number } | { kind: 'timestamp'; ms: number };

interface PartitionPlan {
  partition: number;
  start: number;
  /** Exclusive end (the high watermark at start) or undefined when following. */
  end: number | undefined;
}

export const consumeCommand: Command = {
  name: 'consume',
  summary: 'print records of a topic',
  usage:
    'consume <topic> [--partition N] [--from-beginning | --offset N | --timestamp T] [--follow] [--max-records N] ' +
    '[--format lines|json] [--print-key] [--key-separator SEP]',
  description:
    'Without --from-beginning, --offset or --timestamp reading starts at the end (as Kafka\'s console\n' +
    'consumer does). Without --follow the command stops at the high watermark it saw when it started;\n' +
    'with --follow it waits for new records until interrupted (Ctrl-C). Records of one partition print\n' +
    'in offset order; partitions interleave.\n\n' +
    'With --group G it joins consumer group G and prints its share of the partitions from the group\'s\n' +
    'committed offsets (--from-beginning: where the group has none, start at the log start; else at the\n' +
    'end), commits what it printed, and leaves the group on exit (--max-records, Ctrl-C, or --idle-ms\n' +
    'without a record unless --follow).',
  options: {
    partition: { type: 'string' },
    'from-beginning': { type: 'boolean' },
    offset: { type: 'string' },
    timestamp: { type: 'string' },
    follow: { type: 'boolean', short: 'f' },
    'max-records': { type: 'string' },
    format: { type: 'string' },
    'key-separator': { type: 'string' },
    'print-key': { type: 'boolean' },
    'value-encoding': { type: 'string' },
    group: { type: 'string' },
    'idle-ms': { type: 'string' },
  },
  optionHelp: [
    ['--partition N', 'read only partition N (default: all partitions)'],
    ['--from-beginning', 'start at the log start offset'],
    ['--offset N', 'start at offset N (needs --partition)'],
    ['--timestamp T', 'start at the first record at or after T (epoch ms or ISO-8601)'],
    ['-f, --follow', 'keep waiting for new records (long poll) until interrupted'],
    ['--max-records N', 'stop after N records'],
    ['--format lines|json', 'lines: the value (default); json: one object per line with topic, partition, offset, timestamp, key, value, headers'],
    ['--print-key', 'lines format: print key<SEP>value (a null key prints as null)'],
    ['--key-separator SEP', 'separator for --print-key (default TAB)'],
    ['--value-encoding E', 'utf8 (default), base64 or json: how the broker renders values'],
    ['--group G', 'consume as a member of consumer group G: its share of the partitions, from the committed offsets; commits what it printed'],
    ['--idle-ms N', 'with --group and without --follow: stop after N ms without a record (default 2000)'],
  ],
  examples: [
    'strata consume orders --from-beginning',
    'strata consume orders --partition 2 --offset 100 --max-records 10 --format json',
    'strata consume orders --timestamp 2024-05-01T00:00:00Z --follow --print-key',
    'strata consume orders --from-beginning | head -n 5',
    'strata consume orders --group billing --from-beginning --max-records 100',
  ],
  minPositionals: 1,
  maxPositionals: 1,
  positionalNames: ['topic'],
  usesBroker: true,
  run: consume,
};

function parseStartAt(ctx: CommandContext, partitionGiven: boolean): StartAt {
  const values = ctx.values;
  const fromBeginning = booleanOption(values, 'from-beginning');
  const offset = intOption(values, 'offset', { min: 0 });
  const rawTimestamp = stringOption(values, 'timestamp');
  const chosen = [fromBeginning, offset !== undefined, rawTimestamp !== undefined].filter(Boolean).length;
  if (chosen > 1) throw new UsageError('--from-beginning, --offset and --timestamp exclude each other');
  if (offset !== undefined) {
    if (!partitionGiven) throw new UsageError('--offset needs --partition (offsets are per partition)');
    return { kind: 'offset', offset };
  }
  if (rawTimestamp !== undefined) return { kind: 'timestamp', ms: parseTimestamp(rawTimestamp, '--timestamp') };
  return fromBeginning ? { kind: 'earliest' } : { kind: 'latest' };
}

function parseFormat(raw: string | undefined): Format {
  if (raw === undefined || raw === 'lines' || raw === 'json') return raw ?? 'lines';
  throw new UsageError(`--format must be lines or json, got '${raw}'`);
}

function parseValueEncoding(raw: string | undefined): ValueEncoding | undefined {
  if (raw === undefined || raw === 'utf8' || raw === 'base64' || raw === 'json') return raw;
  throw new UsageError(`--value-encoding must be utf8, base64 or json, got '${raw}'`);
}

function renderScalar(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function isRetriable(error: unknown): boolean {
  // A broker that refuses connections is not there: say so at once rather than retry.
  return isStrataError(error) && error.retriable && !isRefused(error);
}

async function consume(ctx: CommandContext): Promise<number> {
  if (stringOption(ctx.values, 'group') !== undefined) return consumeInGroup(ctx);
  if (stringOption(ctx.values, 'idle-ms') !== undefined) throw new UsageError('--idle-ms only applies with --group');
  const topic = ctx.positionals[0] as string;
  const values = ctx.values;
  const onlyPartition = intOption(values, 'partition', { min: 0, max: 2 ** 31 - 1 });
  const startAt = parseStartAt(ctx, onlyPartition !== undefined);
  const follow = booleanOption(values, 'follow');
  const maxRecords = intOption(values, 'max-records', { min: 1 });
  const format = parseFormat(stringOption(values, 'format'));
  const printKey = booleanOption(values, 'print-key');
  const rawSeparator = stringOption(values, 'key-separator');
  const separator = unescapeSeparator(rawSeparator ?? '\t');
  if (rawSeparator !== undefined && !printKey) throw new UsageError('--key-separator only applies with --print-key');
  const valueEncoding = parseValueEncoding(stringOption(values, 'value-encoding'));
  const { io, client } = ctx;

  const stop = new AbortController();
  let brokenPipe = false;
  let failure: unknown = undefined;
  const fail = (error: unknown): void => {
    if (stop.signal.aborted) return;
    if (isBrokenPipe(error)) brokenPipe = true;
    else failure = error;
    stop.abort();
  };
  const onStdoutError = (error: Error): void => fail(error);
  io.stdout.on('error', onStdoutError);
  const removeSignalHandlers = onShutdownSignal(io.signals, () => stop.abort());

  let printed = 0;
  const progress = progressLine(io.stderr, 'consumed', io.stdout);
  const render = (partition: number, record: FetchedRecord): string => {
    if (format === 'json') {
      return (
        JSON.stringify({
          topic,
          partition,
          offset: record.offset,
          timestamp: record.timestamp,
          key: record.key ?? null,
          value: record.value ?? null,
          headers: record.headers ?? [],
        }) + '\n'
      );
    }
    const value = renderScalar(record.value);
    return printKey ? `${renderScalar(record.key)}${separator}${value}\n` : `${value}\n`;
  };

  const runPartition = async (plan: PartitionPlan): Promise<void> => {
    let offset = plan.start;
    let attempt = 0;
    while (!stop.signal.aborted && (plan.end === undefined || offset < plan.end)) {
      const remaining = maxRecords === undefined ? FETCH_MAX_RECORDS : Math.min(FETCH_MAX_RECORDS, maxRecords - printed);
      if (remaining <= 0) {
        stop.abort();
        return;
      }
      let answer;
      try {
        const maxWaitMs = follow ? FOLLOW_MAX_WAIT_MS : 0;
        answer = await client.fetchRecords(
          topic,
          plan.partition,
          { offset, maxRecords: remaining, maxBytes: FETCH_MAX_BYTES, maxWaitMs, ...(valueEncoding === undefined ? {} : { valueEncoding }) },
          once(stop.signal, maxWaitMs + LONG_POLL_SLACK_MS),
        );
      } catch (error) {
        if (stop.signal.aborted) return;
        if (startAt.kind !== 'offset' && isStrataError(error) && error.code === 'OFFSET_OUT_OF_RANGE') {
          // Retention removed records under us: skip to the new log start, as Kafka's
          // auto.offset.reset=earliest would, and say so.
          const logStart = error.details?.['logStartOffset'];
          if (typeof logStart === 'number' && logStart > offset) {
            io.stderr.write(`warning: partition ${plan.partition}: offsets ${offset}..${logStart - 1} were deleted; skipping to ${logStart}\n`);
            offset = logStart;
            continue;
          }
        }
        if (isRetriable(error) && attempt < RETRY_ATTEMPTS_MAX) {
          attempt++;
          const waitMs = backoffMs(attempt, RETRY_BACKOFF);
          io.stderr.write(`warning: partition ${plan.partition}: ${formatError(error).replace(/^error: /, '').trimEnd()}; retrying\n`);
          await sleep(waitMs, stop.signal);
          continue;
        }
        throw error;
      }
      attempt = 0;
      let text = '';
      for (const record of answer.records) {
        if (record.offset < offset) continue; // the broker may start inside an earlier batch
        if (plan.end !== undefined && record.offset >= plan.end) break;
        if (maxRecords !== undefined && printed >= maxRecords) break;
        text += render(plan.partition, record);
        printed++;
      }
      const last = answer.records.at(-1);
      const nextOffset = Math.max(answer.nextOffset, last === undefined ? offset : last.offset + 1);
      if (text !== '') await writeWithBackpressure(io.stdout, text, stop.signal);
      progress.update(printed);
      if (nextOffset <= offset && !follow) {
        // No progress below the high watermark seen at start (the records there are gone):
        // stop instead of spinning.
        io.stderr.write(`warning: partition ${plan.partition}: no records between ${offset} and ${String(plan.end)}; stopping\n`);
        return;
      }
      offset = Math.max(offset, nextOffset);
      if (maxRecords !== undefined && printed >= maxRecords) {
        stop.abort();
        return;
      }
    }
  };

  try {
    const plans = await planPartitions(client, topic, onlyPartition, startAt, follow, stop.signal);
    await Promise.all(plans.map((plan) => runPartition(plan).catch(fail)));
  } catch (error) {
    fail(error);
  } finally {
    removeSignalHandlers();
    io.stdout.off('error', onStdoutError);
  }
  if (brokenPipe) return 0;
  progress.clear();
  if (failure !== undefined) {
    io.stderr.write(formatError(failure));
    return 1;
  }
  io.stderr.write(`consumed ${printed} record${printed === 1 ? '' : 's'}\n`);
  return 0;
}

/** Where each partition starts (and, without --follow, ends), from one describe plus offset lookups. */
async function planPartitions(
  client: BrokerClient,
  topic: string,
  onlyPartition: number | undefined,
  startAt: StartAt,
  follow: boolean,
  signal: AbortSignal,
): Promise<PartitionPlan[]> {
  const description = await client.describeTopic(topic, once(signal));
  let partitions = [...description.partitions].sort((a, b) => a.partition - b.partition);
  if (onlyPartition !== undefined) {
    partitions = partitions.filter((p) => p.partition === onlyPartition);
    if (partitions.length === 0) {
      throw new StrataError(
        'UNKNOWN_PARTITION',
        `topic '${topic}' has no partition ${onlyPartition} (it has ${description.partitions.length})`,
      );
    }
  }
  return Promise.all(
    partitions.map(async (p): Promise<PartitionPlan> => {
      if ('offline' in p) throw new StrataError('STORAGE_ERROR', `partition ${p.partition} of topic '${topic}' is offline: ${p.error}`);
      let start: number;
      switch (startAt.kind) {
        case 'earliest':
          start = p.logStartOffset;
          break;
        case 'latest':
          start = p.highWatermark;
          break;
        case 'offset':
          start = startAt.offset;
          break;
        case 'timestamp': {
          const [found] = await client.listOffsets(topic, { timestamp: startAt.ms }, [p.partition], once(signal));
          start = found === undefined || found.offset < 0 ? p.highWatermark : found.offset;
          break;
        }
      }
      return { partition: p.partition, start, end: follow ? undefined : p.highWatermark };
    }),
  );
}

const GROUP_IDLE_MS_DEFAULT = 2_000;

/** `consume --group`: a Consumer of @strata/client; prints records, commits them, leaves on exit. */
async function consumeInGroup(ctx: CommandContext): Promise<number> {
  const topic = ctx.positionals[0] as string;
  const values = ctx.values;
  const group = stringOption(values, 'group')!;
  for (const excluded of ['partition', 'offset', 'timestamp']) {
    if (values[excluded] !== undefined) throw new UsageError(`--${excluded} does not apply with --group (the group assigns partitions and keeps offsets)`);
  }
  const follow = booleanOption(values, 'follow');
  const maxRecords = intOption(values, 'max-records', { min: 1 });
  const idleMs = intOption(values, 'idle-ms', { min: 1, max: 24 * 3_600_000 }) ?? GROUP_IDLE_MS_DEFAULT;
  if (follow && stringOption(values, 'idle-ms') !== undefined) throw new UsageError('--idle-ms and --follow exclude each other');
  const format = parseFormat(stringOption(values, 'format'));
  const printKey = booleanOption(values, 'print-key');
  const rawSeparator = stringOption(values, 'key-separator');
  const separator = unescapeSeparator(rawSeparator ?? '\t');
  if (rawSeparator !== undefined && !printKey) throw new UsageError('--key-separator only applies with --print-key');
  const valueEncoding = parseValueEncoding(stringOption(values, 'value-encoding')) ?? 'utf8';
  const { io } = ctx;
  // One plain request first: an unreachable broker or an unknown topic is reported as such, at once,
  // rather than as a consumer that never joined.
  await ctx.client.describeTopic(topic, once());

  const consumer = new Consumer({
    brokers: ctx.brokerUrl,
    ...(ctx.tls === undefined ? {} : { tls: ctx.tls }),
    groupId: group,
    topics: [topic],
    autoOffsetReset: booleanOption(values, 'from-beginning') ? 'earliest' : 'latest',
    clientId: 'strata-cli',
    autoCommitIntervalMs: 1_000,
  });
  const render = (r: { partition: number; offset: number; timestamp: number; key: Buffer | null; value: Buffer | null; headers: Array<{ key: string; value: Buffer | null }> }): string => {
    const text = (b: Buffer | null): unknown => {
      if (b === null) return null;
      if (valueEncoding === 'base64') return b.toString('base64');
      if (valueEncoding === 'json') {
        try {
          return JSON.parse(b.toString('utf8')) as unknown;
        } catch {
          return b.toString('utf8');
        }
      }
      return b.toString('utf8');
    };
    if (format === 'json') {
      return (
        JSON.stringify({
          topic,
          partition: r.partition,
          offset: r.offset,
          timestamp: r.timestamp,
          key: r.key?.toString('utf8') ?? null,
          value: text(r.value),
          headers: r.headers.map((h) => ({ key: h.key, value: h.value?.toString('utf8') ?? null })),
        }) + '\n'
      );
    }
    const value = renderScalar(text(r.value));
    return printKey ? `${renderScalar(r.key?.toString('utf8') ?? null)}${separator}${value}\n` : `${value}\n`;
  };

  let printed = 0;
  const progress = progressLine(io.stderr, 'consumed', io.stdout);
  let brokenPipe = false;
  let idleTimer: NodeJS.Timeout | null = null;
  const stop = (): void => void consumer.close().catch(() => undefined);
  const armIdle = (): void => {
    if (follow) return;
    if (idleTimer !== null) clearTimeout(idleTimer);
    idleTimer = setTimeout(stop, idleMs);
  };
  const removeSignalHandlers = onShutdownSignal(io.signals, stop);
  const onStdoutError = (error: Error): void => {
    if (isBrokenPipe(error)) brokenPipe = true;
    stop();
  };
  io.stdout.on('error', onStdoutError);
  let failure: unknown = undefined;
  try {
    armIdle();
    for await (const record of consumer) {
      armIdle();
      await writeWithBackpressure(io.stdout, render(record));
      printed++;
      progress.update(printed);
      if (maxRecords !== undefined && printed >= maxRecords) break;
    }
  } catch (error) {
    if (isBrokenPipe(error)) brokenPipe = true;
    else failure = error;
  } finally {
    if (idleTimer !== null) clearTimeout(idleTimer);
    removeSignalHandlers();
    await consumer.close().catch((e: unknown) => (failure ??= e));
    io.stdout.off('error', onStdoutError);
  }
  if (brokenPipe) return 0;
  progress.clear();
  if (failure !== undefined) {
    io.stderr.write(formatError(failure));
    return 1;
  }
  io.stderr.write(`consumed ${printed} record${printed === 1 ? '' : 's'} as a member of group '${group}'\n`);
  return 0;
}
