/**
 * `strata produce <topic>`: lines from stdin become records, sent in bounded batches.
 *
 * Backpressure: stdin is read only as fast as the broker acknowledges. At most `--max-in-flight`
 * requests are outstanding (default 1); acknowledgements are taken in send order, and a batch
 * is flushed when it reaches `--batch-size` records, MAX_REQUEST_BODY_BYTES of JSON, or when stdin
 * has been quiet for `--linger-ms` (so interactive use sends each line promptly).
 */
import { StringDecoder } from 'node:string_decoder';
import { ERROR_CATALOGUE, StrataError, type ErrorCode } from '@strata/protocol';
import { booleanOption, intOption, stringOption, unescapeSeparator, UsageError } from '../args.js';
import type { Command, CommandContext } from '../command.js';
import type { Acks as ClientAcks, ProducedOffset } from '@strata/client';
import { once } from '../broker-client.js';
import { onShutdownSignal } from '../io.js';
import { formatError } from '../report.js';
import { progressLine } from '../progress.js';

/** Bound on one request's JSON body; well under the broker's default request limit. */
const MAX_REQUEST_BODY_BYTES = 512 * 1024;
const DEFAULT_BATCH_SIZE = 500;
/** A record is one line: bound what one unterminated line may buffer. */
const MAX_LINE_CHARS = 16 * 1024 * 1024;
const DEFAULT_LINGER_MS = 50;

/** --acks as typed: the query parameter's spelling. */
type Acks = '0' | '1' | 'all';
const CLIENT_ACKS: Readonly<Record<Acks, ClientAcks>> = { '0': 0, '1': 1, all: 'all' };

type Outcome = { ok: true; offsets: ProducedOffset[] } | { ok: false; error: unknown };

interface InFlight {
  outcome: Promise<Outcome>;
  recordCount: number;
}

/** One error for the partitions that failed in a partly successful request, each one named. */
function partialFailure(failed: Map<number, NonNullable<ProducedOffset['error']>>): StrataError {
  const entries = [...failed.entries()].sort(([a], [b]) => a - b);
  const [firstPartition, first] = entries[0] as [number, NonNullable<ProducedOffset['error']>];
  const code: ErrorCode = Object.hasOwn(ERROR_CATALOGUE, first.code) ? first.code : 'INTERNAL_ERROR';
  if (entries.length === 1) return new StrataError(code, `partition ${firstPartition}: ${first.message}`);
  return new StrataError(code, `appends to ${entries.length} partitions failed`, {
    details: { problems: entries.map(([p, e]) => `partition ${p}: ${e.code}: ${e.message}`) },
  });
}

function parseAcks(raw: string | undefined): Acks {
  if (raw === undefined) return 'all';
  if (raw === '0' || raw === '1' || raw === 'all') return raw;
  if (raw === '-1') return 'all';
  throw new UsageError(`--acks must be 0, 1 or all, got '${raw}'`);
}

export const produceCommand: Command = {
  name: 'produce',
  summary: 'produce records from stdin, one per line',
  usage: 'produce <topic> [--partition N] [--key-separator SEP | --no-key] [--acks 0|1|all] [--batch-size N]',
  description:
    'Each line of stdin becomes one record. By default a line is key<TAB>value; a line without the\n' +
    'separator has a null key and the whole line as value. Keyed records go to the partition Kafka\'s\n' +
    'default partitioner picks; --partition sends every record to one partition. A summary goes to\n' +
    'stderr; on any failure the command stops reading, prints the error and exits 1.',
  options: {
    partition: { type: 'string' },
    'key-separator': { type: 'string' },
    'no-key': { type: 'boolean' },
    acks: { type: 'string' },
    'batch-size': { type: 'string' },
    'max-in-flight': { type: 'string' },
    'linger-ms': { type: 'string' },
  },
  optionHelp: [
    ['--partition N', 'send every record to partition N (default: by key; null keys spread by the broker)'],
    ['--key-separator SEP', 'separator between key and value (default TAB; \\t and \\n escapes work)'],
    ['--no-key', 'each whole line is a value, with a null key'],
    ['--acks 0|1|all', 'acknowledgement to wait for (default all, as Kafka\'s producer)'],
    ['--batch-size N', `records per request at most (default ${DEFAULT_BATCH_SIZE})`],
    ['--max-in-flight N', 'requests outstanding at once (default 1; above 1 the broker may append two requests out of order)'],
    ['--linger-ms N', `send a partial batch once stdin has been quiet this long (default ${DEFAULT_LINGER_MS})`],
  ],
  examples: [
    'seq 1 1000 | strata produce numbers --no-key',
    "printf 'user-1\\tlogin\\nuser-2\\tlogout\\n' | strata produce events",
    "strata produce events --key-separator ':' --acks all < events.txt",
  ],
  minPositionals: 1,
  maxPositionals: 1,
  positionalNames: ['topic'],
  usesBroker: true,
  run: produce,
};

async function produce(ctx: CommandContext): Promise<number> {
  const topic = ctx.positionals[0] as string;
  const values = ctx.values;
  const partition = intOption(values, 'partition', { min: 0, max: 2 ** 31 - 1 });
  const noKey = booleanOption(values, 'no-key');
  const rawSeparator = stringOption(values, 'key-separator');
  if (noKey && rawSeparator !== undefined) throw new UsageError('--no-key and --key-separator exclude each other');
  const separator = unescapeSeparator(rawSeparator ?? '\t');
  if (separator === '') throw new UsageError('--key-separator must not be empty');
  const acks = parseAcks(stringOption(values, 'acks'));
  const batchSize = intOption(values, 'batch-size', { min: 1, max: 100_000 }) ?? DEFAULT_BATCH_SIZE;
  const maxInFlight = intOption(values, 'max-in-flight', { min: 1, max: 64 }) ?? 1;
  const lingerMs = intOption(values, 'linger-ms', { min: 0, max: 60_000 }) ?? DEFAULT_LINGER_MS;
  const { io, client } = ctx;

  // `stop` ends the reading of stdin (a failure or a signal); requests already sent are still awaited.
  const stop = new AbortController();
  let interrupted = false;
  const removeSignalHandlers = onShutdownSignal(io.signals, () => {
    interrupted = true;
    stop.abort();
  });

  let batchParts: string[] = [];
  let batchBytes = 0;
  const inFlight: InFlight[] = [];
  let sentRecords = 0;
  const progress = progressLine(io.stderr, 'produced');
  let ackedRecords = 0;
  const perPartition = new Map<number, number>();
  let failure: unknown = undefined;

  const settleOldest = async (): Promise<void> => {
    const oldest = inFlight.shift();
    if (oldest === undefined) return;
    const outcome = await oldest.outcome;
    if (!outcome.ok) {
      if (failure === undefined) failure = outcome.error;
      stop.abort();
      return;
    }
    // Some partitions of a request may fail while others succeed: count what was appended and
    // keep every partition's error.
    const failed = new Map<number, NonNullable<ProducedOffset['error']>>();
    for (const { partition: p, error } of outcome.offsets) {
      if (error !== undefined) failed.set(p, error);
      else perPartition.set(p, (perPartition.get(p) ?? 0) + 1);
    }
    ackedRecords += oldest.recordCount - outcome.offsets.filter((o) => o.error !== undefined).length;
    progress.update(ackedRecords);
    if (failed.size > 0) {
      if (failure === undefined) failure = partialFailure(failed);
      stop.abort();
    }
  };

  const flush = async (): Promise<void> => {
    if (batchParts.length === 0 || failure !== undefined) return;
    const body = `{"records":[${batchParts.join(',')}]}`;
    const recordCount = batchParts.length;
    batchParts = [];
    batchBytes = 0;
    sentRecords += recordCount;
    // One attempt: a retry after a lost answer could append the batch twice.
    const outcome = client.produceRecords(topic, body, CLIENT_ACKS[acks], once()).then(
      ({ offsets }): Outcome => ({ ok: true, offsets }),
      (error: unknown): Outcome => ({ ok: false, error }),
    );
    inFlight.push({ outcome, recordCount });
    while (inFlight.length >= maxInFlight && failure === undefined) await settleOldest();
  };

  const addLine = async (line: string): Promise<void> => {
    const text = line.endsWith('\r') ? line.slice(0, -1) : line;
    const record: { key?: string | null; value: string; partition?: number } = { value: text };
    if (!noKey) {
      const at = text.indexOf(separator);
      if (at < 0) record.key = null;
      else {
        record.key = text.slice(0, at);
        record.value = text.slice(at + separator.length);
      }
    }
    if (partition !== undefined) record.partition = partition;
    const json = JSON.stringify(record);
    const bytes = Buffer.byteLength(json);
    if (batchParts.length > 0 && batchBytes + bytes + 1 > MAX_REQUEST_BODY_BYTES) await flush();
    batchParts.push(json);
    batchBytes += bytes + 1;
    if (batchParts.length >= batchSize || batchBytes >= MAX_REQUEST_BODY_BYTES) await flush();
  };

  const stopped = new Promise<'stopped'>((resolve) => stop.signal.addEventListener('abort', () => resolve('stopped')));
  const chunks = io.stdin[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const decoder = new StringDecoder('utf8');
  let carry = '';
  try {
    // A read that fails after we stopped waiting for it must not become an unhandled rejection.
    const readAhead = (): Promise<IteratorResult<Buffer | string>> => {
      const read = chunks.next();
      read.catch(() => undefined);
      return read;
    };
    let next = readAhead();
    while (!stop.signal.aborted) {
      let lingerTimer: NodeJS.Timeout | undefined;
      const linger =
        batchParts.length > 0
          ? new Promise<'linger'>((resolve) => {
              lingerTimer = setTimeout(() => resolve('linger'), lingerMs);
            })
          : undefined;
      const result = await Promise.race(linger === undefined ? [next, stopped] : [next, stopped, linger]);
      clearTimeout(lingerTimer);
      if (result === 'stopped') break;
      if (result === 'linger') {
        await flush();
        continue;
      }
      if (result.done === true) {
        carry += decoder.end();
        break;
      }
      next = readAhead(); // read one chunk ahead while this one is sent
      const lines = (carry + (typeof result.value === 'string' ? result.value : decoder.write(result.value))).split('\n');
      carry = lines.pop() ?? '';
      if (carry.length > MAX_LINE_CHARS) {
        failure = new UsageError(`a line of stdin is longer than ${MAX_LINE_CHARS} characters`);
        break;
      }
      for (const line of lines) {
        await addLine(line);
        if (failure !== undefined) break;
      }
    }
    // The last line may lack its newline; an interrupt still sends what was read.
    if (failure === undefined && carry !== '') await addLine(carry);
    await flush();
    while (inFlight.length > 0) await settleOldest();
  } finally {
    removeSignalHandlers();
    await chunks.return?.().catch(() => undefined);
  }

  const where = [...perPartition.entries()]
    .sort(([a], [b]) => a - b)
    .map(([p, n]) => `${p}: ${n}`)
    .join(', ');
  progress.clear();
  if (failure !== undefined) {
    io.stderr.write(formatError(failure));
    io.stderr.write(
      `produced ${ackedRecords} of ${sentRecords} records sent to '${topic}' before the failure` +
        `${where === '' ? '' : ` (partitions ${where})`}\n`,
    );
    return 1;
  }
  io.stderr.write(
    acks === '0'
      ? `sent ${sentRecords} records to '${topic}' (acks=0: not confirmed)\n`
      : `produced ${ackedRecords} records to '${topic}'${where === '' ? '' : ` (partitions ${where})`}` +
          `${interrupted ? ' before the interrupt' : ''}\n`,
  );
  return 0;
}
