/**
 * The `strata` command line: `runCli(argv, io)` parses, dispatches and returns the exit status.
 *
 * Exit status: 0 success, 1 failure (the broker refused, could not be reached, ...),
 * 2 usage error (unknown command or option, bad option value).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseStrict, stringOption, UsageError, type OptionSpecs } from './args.js';
import type { Command } from './command.js';
import { consumeCommand } from './commands/consume.js';
import { aclsCommands } from './commands/acls.js';
import { groupsCommands } from './commands/groups.js';
import { quotasCommands } from './commands/quotas.js';
import { produceCommand } from './commands/produce.js';
import { serveCommand } from './commands/serve.js';
import { topicsCommands } from './commands/topics.js';
import { usersCommands } from './commands/users.js';
import { brokerClient, clientAuthOf, clientTlsOf } from './broker-client.js';
import { processIo, type CliIo } from './io.js';
import { formatError } from './report.js';

export { brokerClient, unreachableMessage } from './broker-client.js';
export type { BrokerClient } from './broker-client.js';
export type { CliIo, SignalSource, ShutdownSignal } from './io.js';

export const DEFAULT_BROKER_URL = 'http://127.0.0.1:8080';

const GLOBAL_OPTIONS: OptionSpecs = {
  broker: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
};

const COMMANDS: Command[] = [serveCommand, ...topicsCommands, produceCommand, consumeCommand, ...groupsCommands, ...quotasCommands, ...usersCommands, ...aclsCommands];
const GROUPS: Record<string, string> = { topics: 'manage topics', groups: 'consumer groups', quotas: 'client quotas', users: 'users and API tokens', acls: 'access control (Kafka\'s ACLs)' };

export function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function topLevelHelp(): string {
  const rows: Array<[string, string]> = [
    ['serve', serveCommand.summary],
    ...topicsCommands.map((c): [string, string] => [c.usage.split(' [')[0] ?? c.name, c.summary]),
    ['produce <topic>', produceCommand.summary],
    ['consume <topic>', consumeCommand.summary],
    ...groupsCommands.map((c): [string, string] => [c.usage.split(' [')[0]!.split(' --')[0] ?? c.name, c.summary]),
    ...quotasCommands.map((c): [string, string] => [c.usage.split(' [')[0]!.split(' <')[0] ?? c.name, c.summary]),
    ...aclsCommands.map((c): [string, string] => [c.name, c.summary]),
  ];
  return (
    'Usage: strata <command> [options]\n\n' +
    'Strata: a durable, replayable, partitioned log.\n\n' +
    'Commands:\n' +
    columns(rows) +
    '\nGlobal options:\n' +
    columns(globalOptionHelp(true)) +
    '\nExamples:\n' +
    [
      'strata serve',
      'strata topics create orders --partitions 3',
      "printf 'k1\\tv1\\nk2\\tv2\\n' | strata produce orders",
      'strata consume orders --from-beginning --print-key',
      'strata consume orders --group billing',
      'strata groups describe billing',
    ]
      .map((e) => `  $ ${e}\n`)
      .join('') +
    '\nRun `strata <command> --help` for a command\'s options.\n'
  );
}

function groupHelp(group: string): string {
  const members = COMMANDS.filter((c) => c.name.startsWith(`${group} `));
  return (
    `Usage: strata ${group} <subcommand> [options]\n\n` +
    `Subcommands:\n${columns(members.map((c): [string, string] => [c.usage, c.summary]))}` +
    `\nGlobal options:\n${columns(globalOptionHelp(true))}` +
    `\nExamples:\n${members.map((c) => `  $ ${c.examples[0] ?? ''}\n`).join('')}`
  );
}

function commandHelp(command: Command): string {
  let text = `Usage: strata ${command.usage}\n\n${capitalize(command.summary)}.\n`;
  if (command.description !== undefined) text += `\n${command.description}\n`;
  if (command.optionHelp.length > 0) text += `\nOptions:\n${columns(command.optionHelp)}`;
  text += `\nGlobal options:\n${columns(globalOptionHelp(command.usesBroker))}`;
  text += `\nExamples:\n${command.examples.map((e) => `  $ ${e}\n`).join('')}`;
  return text;
}

function globalOptionHelp(withBroker: boolean): Array<[string, string]> {
  return [
    ...(withBroker
      ? ([
          ['--broker URL', `broker to talk to (default: $STRATA_URL or ${DEFAULT_BROKER_URL})`],
          ['', 'https: trusts $STRATA_CA_FILE; mTLS: $STRATA_CLIENT_CERT_FILE, $STRATA_CLIENT_KEY_FILE'],
          ['', 'credentials: $STRATA_TOKEN (an API token), or $STRATA_USER with $STRATA_PASSWORD'],
        ] as Array<[string, string]>)
      : []),
    ['-h, --help', 'show help'],
    ['-V, --version', 'show the version'],
  ];
}

function columns(rows: Array<[string, string]>): string {
  const width = Math.min(34, Math.max(...rows.map(([left]) => left.length)));
  return rows
    .map(([left, right]) => (left.length > width ? `  ${left}\n  ${' '.repeat(width)}  ${right}\n` : `  ${left.padEnd(width)}  ${right}\n`))
    .join('');
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Every option any command knows, so a lenient first pass can find the command words. */
function allOptions(): OptionSpecs {
  const merged: OptionSpecs = { ...GLOBAL_OPTIONS };
  for (const command of COMMANDS) Object.assign(merged, command.options);
  return merged;
}

interface Located {
  words: string[];
  /** argv without the command words. */
  rest: string[];
}

/** Find the command words (`produce`, `topics create`) among the leading arguments. */
function locateCommand(argv: string[]): Located {
  const { tokens } = parseArgs({ args: argv, options: allOptions(), strict: false, allowPositionals: true, tokens: true });
  const words: string[] = [];
  const wordIndexes = new Set<number>();
  for (const token of tokens) {
    if (token.kind === 'option-terminator') break;
    if (token.kind !== 'positional') continue;
    const wantMore = words.length === 0 || (words.length === 1 && words[0] !== undefined && words[0] in GROUPS);
    if (!wantMore) break;
    words.push(token.value);
    wordIndexes.add(token.index);
  }
  return { words, rest: argv.filter((_, i) => !wordIndexes.has(i)) };
}

function brokerUrlOf(flag: string | undefined, env: CliIo['env']): string {
  const raw = flag ?? (env['STRATA_URL'] !== undefined && env['STRATA_URL'] !== '' ? env['STRATA_URL'] : DEFAULT_BROKER_URL);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--broker must be a URL such as ${DEFAULT_BROKER_URL}, got '${raw}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--broker must be an http:// or https:// URL, got '${raw}'`);
  }
  return raw.replace(/\/+$/, '');
}

/**
 * `strata topics list orders` or `strata groups describe g offsets`: the extra word is most often a
 * subcommand the user expected to exist, so say that rather than a bare "unexpected argument".
 */
function extraWordMessage(command: Command, positionals: string[]): string {
  const extra = positionals[command.maxPositionals]!;
  const asWritten = [command.name, ...positionals.slice(0, command.maxPositionals + 1)].join(' ');
  const takes =
    command.maxPositionals === 0 ? 'takes no argument' : `takes ${command.positionalNames.map((n) => `<${n}>`).join(' ')} only`;
  return `unknown subcommand '${asWritten}' ('${extra}' is not expected: ${command.name} ${takes})`;
}

function usageError(io: CliIo, message: string, command: Command | undefined): number {
  io.stderr.write(`error: ${message}\n`);
  io.stderr.write(
    command === undefined
      ? 'usage: strata <command> [options]  (see strata --help)\n'
      : `usage: strata ${command.usage}  (see strata ${command.name} --help)\n`,
  );
  return 2;
}

/** Run one `strata` invocation; resolves to the exit status. Never throws. */
export async function runCli(argv: string[], ioOverrides: Partial<CliIo> = {}): Promise<number> {
  const io: CliIo = { ...processIo(), ...ioOverrides };
  let command: Command | undefined;
  try {
    const { words, rest } = locateCommand(argv);
    if (words.length === 0) {
      const { values } = parseStrict(rest, GLOBAL_OPTIONS, 0);
      if (values['version'] === true) {
        io.stdout.write(`strata ${cliVersion()}\n`);
        return 0;
      }
      if (values['help'] === true) {
        io.stdout.write(topLevelHelp());
        return 0;
      }
      io.stderr.write(topLevelHelp());
      return 2;
    }

    const [first, second] = words as [string, string | undefined];
    if (first in GROUPS) {
      const name = second === undefined ? undefined : `${first} ${second}`;
      command = COMMANDS.find((c) => c.name === name);
      if (command === undefined) {
        const { values } = parseStrict(rest, GLOBAL_OPTIONS, 0);
        if (second === undefined && values['help'] === true) {
          io.stdout.write(groupHelp(first));
          return 0;
        }
        io.stderr.write(second === undefined ? `error: missing ${first} subcommand\n` : `error: unknown ${first} subcommand '${second}'\n`);
        io.stderr.write(groupHelp(first));
        return 2;
      }
    } else {
      command = COMMANDS.find((c) => c.name === first);
      if (command === undefined) return usageError(io, `unknown command '${first}'`, undefined);
    }

    if (command.passThrough === true) {
      if (rest.includes('--help') || rest.includes('-h')) {
        io.stdout.write(commandHelp(command));
        return 0;
      }
      const unused = brokerClient(DEFAULT_BROKER_URL);
      try {
        return await command.run({ io, values: {}, positionals: [], rawArgs: rest, brokerUrl: '', client: unused });
      } finally {
        await unused.close();
      }
    }

    const options: OptionSpecs = { ...command.options, help: GLOBAL_OPTIONS['help']!, version: GLOBAL_OPTIONS['version']! };
    if (command.usesBroker) options['broker'] = GLOBAL_OPTIONS['broker']!;
    const { values, positionals } = parseStrict(rest, options, Number.MAX_SAFE_INTEGER);
    if (positionals.length > command.maxPositionals) throw new UsageError(extraWordMessage(command, positionals));
    if (values['help'] === true) {
      io.stdout.write(commandHelp(command));
      return 0;
    }
    if (values['version'] === true) {
      io.stdout.write(`strata ${cliVersion()}\n`);
      return 0;
    }
    if (positionals.length < command.minPositionals) {
      throw new UsageError(`missing <${command.positionalNames[positionals.length] ?? 'argument'}>`);
    }
    const brokerUrl = brokerUrlOf(stringOption(values, 'broker'), io.env);
    const tls = clientTlsOf(io.env);
    const client = brokerClient(brokerUrl, tls, clientAuthOf(io.env));
    try {
      return await command.run({ io, values, positionals, rawArgs: rest, brokerUrl, client, ...(tls === undefined ? {} : { tls }) });
    } finally {
      await client.close();
    }
  } catch (error) {
    if (error instanceof UsageError) return usageError(io, error.message, command);
    io.stderr.write(formatError(error));
    if (io.env['STRATA_DEBUG'] === '1' && error instanceof Error && error.stack !== undefined) {
      io.stderr.write(`${error.stack}\n`);
    }
    return 1;
  }
}
