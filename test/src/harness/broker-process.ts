/**
 * A real broker process: `node services/cli/dist/main.js serve` (so `pnpm build` must have run).
 *
 * Configured through the environment (docs/architecture.md#http-api names), with the HTTP port and data dir
 * chosen by the harness; output kept in a ring buffer to print when a test fails. Faults:
 * stop() (SIGTERM, graceful), kill() (SIGKILL), pause()/resume() (SIGSTOP/SIGCONT), and
 * restart() on the same port and data dir.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { WATCHDOG_IMPORT } from './cleanup.js';
import { HttpClient, type HttpClientTls } from './http.js';
import { ManagedProcess, PORT_ATTEMPTS_MAX } from './managed-process.js';
import { freePorts } from './ports.js';
import { tempDir } from './temp.js';

export type { ExitInfo } from './managed-process.js';

/** The repository root: this file is <root>/test/{src,dist}/harness/broker-process.{ts,js}. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CLI_MAIN = join(REPO_ROOT, 'services', 'cli', 'dist', 'main.js');

export interface BrokerProcessOptions {
  /** HTTP port (default: a free one). */
  port?: number;
  /**
   * Start the Kafka listener on a free port (its port is `kafkaPort`). Default: off
   * (STRATA_KAFKA_PORT=0), so suites that do not test Kafka never contend for 9092.
   */
  kafka?: boolean;
  /** Data directory (default: a fresh temp dir). */
  dataDir?: string;
  /** Extra environment, on top of this process's (STRATA_* settings, ...). */
  env?: Record<string, string>;
  /** Extra `strata serve` flags. */
  args?: string[];
  /** Options for node itself, before the script (flags NODE_OPTIONS refuses, such as --cpu-prof). */
  nodeFlags?: string[];
  /** The CLI to run (default: this checkout's build): a benchmark compares another build of the broker. */
  cliMain?: string;
  /** How long to wait for /readyz (default 30 s). */
  readyTimeoutMs?: number;
  /** Output kept for failure reports (default 256 KiB). */
  outputLimitBytes?: number;
  /**
   * RLIMIT_NOFILE (soft and hard) of the broker process, through util-linux's `prlimit`, which
   * execs node in place (the pid is the broker's). Default: this process's limit.
   */
  fdLimit?: number;
  /**
   * What start (and restart) wait for: 'ready' (default), /readyz 200; 'listening', /healthz 200
   * (a broker that is up but not ready, e.g. read-only on a full disk).
   */
  waitFor?: 'ready' | 'listening';
  /**
   * The broker serves TLS (its STRATA_TLS_* settings go in `env`): its URL is https:// and `http`
   * trusts this CA (and presents this client certificate, for mTLS).
   */
  tls?: HttpClientTls;
}

export class BrokerProcess extends ManagedProcess {
  readonly port: number;
  readonly dataDir: string;
  readonly url: string;
  /** The Kafka listener's port, or null when it is off (options.kafka). */
  readonly kafkaPort: number | null;
  /** A JSON helper bound to this broker's URL. */
  readonly http: HttpClient;
  private readonly options: BrokerProcessOptions;

  private constructor(port: number, kafkaPort: number | null, dataDir: string, options: BrokerProcessOptions) {
    super(
      { name: 'broker', label: `broker :${port}`, dirNote: `data dir ${dataDir}` },
      { stopTimeoutMs: 15_000, outputLimitBytes: options.outputLimitBytes },
    );
    this.port = port;
    this.kafkaPort = kafkaPort;
    this.dataDir = dataDir;
    this.url = `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`;
    this.http = new HttpClient(this.url, options.tls);
    this.options = options;
  }

  /** Spawn a broker and wait until it answers /readyz. */
  static async start(options: BrokerProcessOptions = {}): Promise<BrokerProcess> {
    if (!existsSync(CLI_MAIN)) {
      throw new Error(`${CLI_MAIN} is missing: run \`pnpm build\` first (pnpm test does)`);
    }
    const dataDir = options.dataDir ?? tempDir('strata-broker-');
    // A port free a moment ago can be taken before the broker binds it (another test's broker, an outgoing
    // connection's ephemeral port): ports the harness picked are picked again.
    for (let attempt = 1; ; attempt++) {
      // Picked together, and none the caller chose (its port, its *_PORT settings): a port released
      // a moment ago is the kernel's likely next pick, and two listeners cannot share one.
      const chosen = new Set([options.port, ...Object.entries(options.env ?? {}).filter(([k]) => k.endsWith('_PORT')).map(([, v]) => Number(v))]);
      const wanted = (options.port === undefined ? 1 : 0) + (options.kafka === true ? 1 : 0);
      const picked = (await freePorts(wanted + chosen.size)).filter((p) => !chosen.has(p));
      const httpPort = options.port ?? picked.shift()!;
      const kafkaPort = options.kafka === true ? picked.shift()! : null;
      const broker = new BrokerProcess(httpPort, kafkaPort, dataDir, options);
      try {
        await broker.spawn();
        return broker;
      } catch (error) {
        const picked = options.port === undefined || kafkaPort !== null;
        if (!picked || !broker.logs().includes('EADDRINUSE') || attempt >= PORT_ATTEMPTS_MAX) throw error;
      }
    }
  }

  protected override async spawn(): Promise<void> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      STRATA_HTTP_PORT: String(this.port),
      STRATA_DATA_DIR: this.dataDir,
      STRATA_ADVERTISED_URL: this.url,
      STRATA_KAFKA_PORT: String(this.kafkaPort ?? 0),
      ...this.options.env,
    };
    const nodeArgs = [...(this.options.nodeFlags ?? []), '--import', WATCHDOG_IMPORT, this.options.cliMain ?? CLI_MAIN, 'serve', ...(this.options.args ?? [])];
    const { fdLimit } = this.options;
    const [command, args] =
      fdLimit === undefined ? [process.execPath, nodeArgs] : ['prlimit', [`--nofile=${fdLimit}:${fdLimit}`, '--', process.execPath, ...nodeArgs]];
    const child = spawn(command, args, {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.launch(child);
    await this.waitReady(this.options.readyTimeoutMs ?? 30_000);
  }

  /** Poll /readyz (or /healthz with waitFor 'listening') until it answers 200; fail early if the process exits. */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    const path = this.options.waitFor === 'listening' ? '/healthz' : '/readyz';
    await this.pollReady(timeoutMs, 50, 'it was ready', async () => {
      const answer = await this.http.get(path, { timeoutMs: 2_000 });
      return answer.status === 200 ? undefined : `HTTP ${answer.status}`;
    });
  }
}
