/**
 * `strata users create|delete|list` and `strata users token issue|revoke|list`: users and their API
 * tokens (issue #14). A password is read from stdin (never a flag: it would show in `ps` and in
 * shell history); a token's secret is printed once, when issued.
 */
import { booleanOption, intOption, stringOption, UsageError } from '../args.js';
import type { Command, CommandContext } from '../command.js';
import { once } from '../broker-client.js';
import { formatTable } from '../report.js';

/** Bytes of stdin read for a password (the broker's own bound is 1024 characters). */
const PASSWORD_INPUT_BYTES_MAX = 4096;

async function readPassword(ctx: CommandContext): Promise<string> {
  let text = '';
  for await (const chunk of ctx.io.stdin) {
    text += String(chunk);
    if (text.length > PASSWORD_INPUT_BYTES_MAX) throw new UsageError(`the password on stdin is longer than ${PASSWORD_INPUT_BYTES_MAX} bytes`);
  }
  const password = text.replace(/\r?\n$/, '');
  if (password === '') throw new UsageError('no password on stdin (e.g. `printf %s "$PASSWORD" | strata users create alice`)');
  return password;
}

export const usersCreate: Command = {
  name: 'users create',
  summary: 'create a user, or replace its password (read from stdin)',
  usage: 'users create <name> [--iterations N]',
  description: 'The password (the first line of stdin) is stored as SCRAM-SHA-256 and SCRAM-SHA-512 salts and keys only; it authenticates HTTP Basic and Kafka SASL PLAIN and SCRAM.',
  options: { iterations: { type: 'string' } },
  optionHelp: [['--iterations N', 'PBKDF2 iterations (>= 4096; default: the broker\'s STRATA_SCRAM_ITERATIONS)']],
  examples: ['printf %s "$ALICE_PASSWORD" | strata users create alice'],
  minPositionals: 1,
  maxPositionals: 1,
  positionalNames: ['name'],
  usesBroker: true,
  async run(ctx) {
    const iterations = intOption(ctx.values, 'iterations', { min: 4096, max: 1_000_000 });
    const user = await ctx.client.createUser({ name: ctx.positionals[0]!, password: await readPassword(ctx), ...(iterations === undefined ? {} : { iterations }) }, once());
    ctx.io.stdout.write(`user ${user.name}: ${user.mechanisms.map((m) => `${m.mechanism} (${m.iterations} iterations)`).join(', ')}\n`);
    return 0;
  },
};

export const usersDelete: Command = {
  name: 'users delete',
  summary: 'delete a user and its API tokens',
  usage: 'users delete <name>',
  options: {},
  optionHelp: [],
  examples: ['strata users delete alice'],
  minPositionals: 1,
  maxPositionals: 1,
  positionalNames: ['name'],
  usesBroker: true,
  async run(ctx) {
    await ctx.client.deleteUser(ctx.positionals[0]!, once());
    ctx.io.stdout.write(`deleted user ${ctx.positionals[0]!}\n`);
    return 0;
  },
};

export const usersList: Command = {
  name: 'users list',
  summary: 'list users (never a password or key)',
  usage: 'users list [--json]',
  options: { json: { type: 'boolean' } },
  optionHelp: [['--json', 'print the broker\'s JSON answer instead of a table']],
  examples: ['strata users list'],
  minPositionals: 0,
  maxPositionals: 0,
  positionalNames: [],
  usesBroker: true,
  async run(ctx) {
    const users = await ctx.client.listUsers(once());
    if (booleanOption(ctx.values, 'json')) {
      ctx.io.stdout.write(JSON.stringify({ users }) + '\n');
      return 0;
    }
    if (users.length === 0) {
      ctx.io.stdout.write('no users\n');
      return 0;
    }
    ctx.io.stdout.write(formatTable(['USER', 'MECHANISMS', 'CREATED'], users.map((u) => [u.name, u.mechanisms.map((m) => m.mechanism).join(','), new Date(u.createdAtMs).toISOString()])));
    return 0;
  },
};

export const usersToken: Command = {
  name: 'users token',
  summary: 'issue, list or revoke a user\'s API tokens',
  usage: 'users token issue <user> --name NAME [--expires-in-ms MS] | users token list <user> | users token revoke <user> <token-id>',
  description: 'An issued token is printed once (only its hash is stored): use it as `Authorization: Bearer <token>`, STRATA_TOKEN, or the SASL/PLAIN password.',
  options: { name: { type: 'string' }, 'expires-in-ms': { type: 'string' }, json: { type: 'boolean' } },
  optionHelp: [
    ['--name NAME', 'what the token is for (issue)'],
    ['--expires-in-ms MS', 'the token expires after this long (issue; default: never, revoke it)'],
    ['--json', 'print the broker\'s JSON answer'],
  ],
  examples: ['strata users token issue alice --name ci --expires-in-ms 2592000000', 'strata users token list alice', 'strata users token revoke alice 3f2a9c1e5b7d4a60'],
  minPositionals: 2,
  maxPositionals: 3,
  positionalNames: ['issue|list|revoke', 'user', 'token-id'],
  usesBroker: true,
  async run(ctx) {
    const [action, user, id] = ctx.positionals as [string, string, string | undefined];
    const json = booleanOption(ctx.values, 'json');
    if (action === 'issue') {
      const name = stringOption(ctx.values, 'name');
      if (name === undefined) throw new UsageError('users token issue needs --name');
      const expiresInMs = intOption(ctx.values, 'expires-in-ms', { min: 1 });
      const issued = await ctx.client.issueToken(user, { name, ...(expiresInMs === undefined ? {} : { expiresInMs }) }, once());
      ctx.io.stdout.write(json ? JSON.stringify(issued) + '\n' : `${issued.token}\n`);
      if (!json) ctx.io.stderr.write(`token ${issued.id} (${issued.name}) for ${issued.user}: shown this once\n`);
      return 0;
    }
    if (action === 'list') {
      const tokens = await ctx.client.listTokens(user, once());
      if (json) ctx.io.stdout.write(JSON.stringify({ tokens }) + '\n');
      else if (tokens.length === 0) ctx.io.stdout.write('no tokens\n');
      else {
        const when = (ms: number | null): string => (ms === null ? 'never' : new Date(ms).toISOString());
        ctx.io.stdout.write(formatTable(['ID', 'NAME', 'CREATED', 'EXPIRES', 'EXPIRED'], tokens.map((t) => [t.id, t.name, when(t.createdAtMs), when(t.expiresAtMs), t.expired ? 'yes' : 'no'])));
      }
      return 0;
    }
    if (action === 'revoke') {
      if (id === undefined) throw new UsageError('users token revoke needs <token-id>');
      await ctx.client.revokeToken(user, id, once());
      ctx.io.stdout.write(`revoked token ${id} of ${user}\n`);
      return 0;
    }
    throw new UsageError(`unknown users token action '${action}': issue, list or revoke`);
  },
};

export const usersCommands: Command[] = [usersCreate, usersDelete, usersList, usersToken];
