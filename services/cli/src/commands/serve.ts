/**
 * `strata serve`: run a broker until SIGTERM/SIGINT.
 *
 * Configuration comes from the environment and the flags, both read by the broker's loadConfig
 * (docs/architecture.md#http-api), validated once, all problems reported together. The first signal closes the
 * broker gracefully and exits 0; a second one exits at once.
 */
import type { Broker, BrokerConfig } from '@strata/broker';
import { isStrataError } from '@strata/protocol';
import type { Command, CommandContext } from '../command.js';
import { onShutdownSignal, type ShutdownSignal } from '../io.js';
import { formatError } from '../report.js';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run a broker',
  usage: 'serve [--<setting> value ...]',
  description:
    'Runs a broker in the foreground. Every setting is read from the environment and can be\n' +
    'overridden by a flag: STRATA_HTTP_PORT (8080), STRATA_DATA_DIR (./data), STRATA_BROKER_ID,\n' +
    'STRATA_ADVERTISED_URL, STRATA_LOG_LEVEL, topic defaults such as STRATA_DEFAULT_SEGMENT_BYTES, ...\n' +
    'A flag is the variable\'s name without STRATA_, in lower case with dashes (STRATA_HTTP_PORT →\n' +
    '--http-port, also --http-port=9000). The broker logs JSON lines to stdout, its resolved\n' +
    'configuration first. SIGTERM or SIGINT shuts down gracefully (in-flight requests finish, logs are\n' +
    'flushed and closed); a second signal exits at once. With TLS on (STRATA_TLS_CERT_FILE,\n' +
    'STRATA_TLS_KEY_FILE), SIGHUP reloads the certificate files without a restart.',
  options: {},
  optionHelp: [],
  examples: [
    'strata serve',
    'strata serve --http-port 9000 --data-dir /var/lib/strata',
    'STRATA_HTTP_PORT=8080 STRATA_DATA_DIR=./data strata serve',
  ],
  minPositionals: 0,
  maxPositionals: 0,
  positionalNames: [],
  passThrough: true,
  usesBroker: false,
  run: serve,
};

/** A port to suggest instead of a busy one: near it, so it is easy to remember. */
function nearbyPort(port: number): number {
  return port + 10 <= 65_535 ? port + 10 : 1024 + (port % 1000);
}

function listenErrorMessage(error: unknown, config: BrokerConfig): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  // Node's listen errors name the port: the Kafka listener's, or the HTTP one's.
  const kafka = (error as { port?: unknown } | null)?.port === config.kafka.port && config.kafka.port !== 0 && config.kafka.port !== config.httpPort;
  const port = kafka ? config.kafka.port : config.httpPort;
  const where = `${config.host}:${port}`;
  if (code === 'EADDRINUSE') {
    // A newcomer's first command may meet a busy 8080: say how to pick another, as a command to copy.
    const other = nearbyPort(port);
    const instead = kafka
      ? `set STRATA_KAFKA_PORT or --kafka-port, e.g. STRATA_KAFKA_PORT=${other} pnpm start (STRATA_KAFKA_PORT=0 turns the Kafka listener off)`
      : `set STRATA_HTTP_PORT or --http-port, e.g. STRATA_HTTP_PORT=${other} pnpm start or strata serve --http-port ${other}; ` +
        `then point the curl examples and the CLI at it with STRATA_URL=http://127.0.0.1:${other}`;
    return `error: cannot listen on ${where}: the address is already in use (another broker or program holds port ${port}); to use another port, ${instead}\n`;
  }
  if (code === 'EACCES') return `error: cannot listen on ${where}: permission denied\n`;
  if (code === 'EADDRNOTAVAIL') return `error: cannot listen on ${where}: no such local address\n`;
  return undefined;
}

/** The broker could not reach the Redis of STRATA_REDIS_URL (broker.ts marks it): how to get one running. */
function redisErrorMessage(error: unknown): string | undefined {
  if (!isStrataError(error) || error.details?.['coordinatorUnreachable'] !== 'redis') return undefined;
  const redisUrl = String(error.details['redisUrl'] ?? '');
  let port = '6379';
  try {
    port = new URL(redisUrl).port || port;
  } catch {
    // The URL was validated at start; the default port is a fine example otherwise.
  }
  return (
    `error: ${error.code}: ${error.message}\n` +
    `  Is redis-server running? Start one: redis-server --port ${port} --daemonize yes\n` +
    `  Not installed? apt-get install -y redis-server (Debian, Ubuntu), brew install redis (macOS), or docker run -d -p ${port}:6379 redis:7\n` +
    `  One broker needs no Redis: unset STRATA_REDIS_URL.\n`
  );
}

async function serve(ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  // Loaded here, not at the top: the broker (AWS SDK, Redis client, ...) would add seconds to the
  // start of every other command.
  const { createLogger, loadConfig, startBroker } = await import('@strata/broker');
  let config: BrokerConfig;
  try {
    config = loadConfig(io.env as NodeJS.ProcessEnv, ctx.rawArgs);
  } catch (error) {
    io.stderr.write(formatError(error));
    return 1;
  }

  // Signals that arrive while starting are remembered and honoured once the broker is up.
  let signalled: ShutdownSignal | undefined;
  let wake: (() => void) | undefined;
  const removeSignalHandlers = onShutdownSignal(io.signals, (signal) => {
    if (signalled !== undefined) {
      io.stderr.write(`received ${signal} again: exiting at once, without a graceful shutdown\n`);
      io.forceExit(1);
      return;
    }
    signalled = signal;
    wake?.();
  });

  try {
    // The broker logs its configuration ('broker starting') and its URL ('broker ready').
    const logger = createLogger({
      level: config.logLevel,
      base: { brokerId: config.brokerId },
      write: (line) => void io.stdout.write(`${line}\n`),
    });
    let broker: Broker;
    try {
      broker = await startBroker(config, { logger });
    } catch (error) {
      io.stderr.write(listenErrorMessage(error, config) ?? redisErrorMessage(error) ?? formatError(error));
      return 1;
    }

    if (signalled === undefined) await new Promise<void>((resolve) => (wake = resolve));
    logger.info('signal received: shutting down gracefully (send it again to exit at once)', { signal: signalled });
    try {
      await broker.close();
    } catch (error) {
      io.stderr.write(formatError(error));
      return 1;
    }
    return 0;
  } finally {
    removeSignalHandlers();
  }
}
