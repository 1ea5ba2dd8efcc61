/**
 * A real S3-compatible server for integration tests: s3rver in a child process on 127.0.0.1, over a
 * fresh directory, with one bucket made before it answers. Faults like BrokerProcess: stop() (SIGTERM),
 * kill() (SIGKILL), pause()/resume() (SIGSTOP/SIGCONT), restart() on the same port and directory (so
 * objects survive and a broker's STRATA_S3_ENDPOINT stays valid). Output kept in a ring buffer.
 *
 * Why a child process under --openssl-legacy-provider: s3rver encrypts ListObjectsV2 continuation
 * tokens with DES, which OpenSSL 3 (Node >= 17) only offers from its legacy provider; without the flag
 * every second page of a listing fails. The flag is per process, so s3rver gets a process of its own
 * rather than changing the test runner's crypto. (packages/storage/test/support/s3rver.ts does the same
 * for the storage unit tests; the harness does not import another package's test dir.)
 *
 * What s3rver checks, and what it does not (it matters for FaultProxy and for MinIO parity):
 * - SigV4: only that the access key id in the Authorization header is a known one (S3RVER) and that
 *   x-amz-date is within 15 minutes; the signature itself is NOT verified (s3rver 3.7 says V4 is
 *   "unimplemented"). MinIO and AWS verify it, Host included, so a test passing here does not prove
 *   the signing is right: fault-proxy.test.ts checks that with its own SigV4 verifier.
 * - Uploads: s3rver 3.7 streams a PUT (or part) straight into the object's file and never checks that
 *   the body was complete, so an upload cut mid-body (FIN or RST alike) leaves a truncated object under
 *   the key, over the old one; and it answers 200 before its file write is done, so a GET right after
 *   can read part of the object. S3 and MinIO do neither. By default (strictUploads) the child patches
 *   s3rver's store: the body is read whole, a short one refused with IncompleteBody, the object
 *   written to a temporary file and renamed into place before the 200.
 * - Request checksums: it does not decode aws-chunked bodies, so clients must use
 *   requestChecksumCalculation/responseChecksumValidation 'WHEN_REQUIRED' (client() does).
 * - Virtual-host buckets are switched off here (vhostBuckets: false): with them on, s3rver reads any
 *   Host that is not an IP, "localhost" or os.hostname() as "<bucket>.<host>", so a request that
 *   reached it under another name (a proxy, a docker service name) would hit the wrong bucket.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { S3Client, CreateBucketCommand, type S3ClientConfig } from '@aws-sdk/client-s3';
import { WATCHDOG_IMPORT } from './cleanup.js';
import { ManagedProcess, startOnFreePort } from './managed-process.js';
import { tempDir } from './temp.js';

export const S3_REGION = 'us-east-1';
/** s3rver's built-in account (the only one it knows). */
export const S3RVER_ACCESS_KEY_ID = 'S3RVER';
export const S3RVER_SECRET_ACCESS_KEY = 'S3RVER';

export interface S3ServerOptions {
  /** The bucket made at start (default "strata"). */
  bucket?: string;
  /** Port on 127.0.0.1 (default: a free one, kept across restarts). */
  port?: number;
  /** Object directory (default: a fresh temp dir, removed by cleanupAll()). */
  directory?: string;
  /** How long to wait for the server to listen (default 20 s). */
  readyTimeoutMs?: number;
  /** Output kept for failure reports (default 256 KiB). */
  outputLimitBytes?: number;
  /**
   * Uploads as S3 makes them (default true): a body cut short is refused (IncompleteBody) and the key
   * keeps its old object; an acknowledged upload is whole on disk and readable at once. false: s3rver
   * as shipped, which stores the truncated prefix and acknowledges before its write is done.
   */
  strictUploads?: boolean;
}

/** Anything with an endpoint (a FaultProxy) that a broker should use instead of the server itself. */
export interface S3EndpointOverride {
  readonly endpoint: string;
}

const READY_MARKER = '@@s3server-ready ';

// The child: s3rver on the given port; one marker line on stdout once it listens. SIGTERM closes the
// server (idle keep-alive sockets included) and exits; a parent that dies is noticed by the watchdog.
const CHILD_SCRIPT = `
const S3rver = require(process.env.S3SERVER_MAIN);
const server = new S3rver({
  address: '127.0.0.1',
  port: Number(process.env.S3SERVER_PORT),
  directory: process.env.S3SERVER_DIR,
  silent: false,
  vhostBuckets: false,
  configureBuckets: JSON.parse(process.env.S3SERVER_BUCKETS).map((name) => ({ name })),
});
// Uploads as S3 makes them (strictUploads): s3rver 3.7 streams a PUT body (or part) straight into the
// object's file, never checks that the body was complete, and answers 200 once the body was read,
// before its file write has finished. So an upload cut mid-body left a truncated object under the
// key (over the old one), and a GET (or CompleteMultipartUpload) right after a 200 could read a
// partial file. Here a body is read whole first (an incomplete one is refused with IncompleteBody
// and the key keeps what it had), written to a temporary file beside the object, renamed into place,
// and only then acknowledged. Bodies are held in memory: test objects and parts are small.
if (process.env.S3SERVER_STRICT_UPLOADS === '1') {
  const path = require('node:path');
  const fsp = require('node:fs/promises');
  const crypto = require('node:crypto');
  const S3Error = require(path.join(path.dirname(process.env.S3SERVER_MAIN), 'models', 'error'));
  let tmpSeq = 0;
  const readWhole = (content) => new Promise((resolve, reject) => {
    if (Buffer.isBuffer(content)) return resolve(content);
    const chunks = [];
    let ended = false;
    const incomplete = () => reject(new S3Error('IncompleteBody',
      'You did not provide the number of bytes specified by the Content-Length HTTP header.'));
    content.on('data', (chunk) => chunks.push(chunk));
    content.on('end', () => {
      ended = true;
      // An HTTP request whose connection ended early still ends; complete tells the two apart.
      if (content.complete === false) incomplete(); else resolve(Buffer.concat(chunks));
    });
    content.on('error', incomplete);
    content.on('close', () => { if (!ended) incomplete(); });
  });
  // The temporary name ends in neither ._S3rver_object nor any other s3rver suffix: never listed.
  const writeAtomically = async (file, body) => {
    await fsp.mkdir(path.dirname(file), { recursive: true });
    const tmp = file + '.strata-tmp-' + (++tmpSeq);
    await fsp.writeFile(tmp, body);
    await fsp.rename(tmp, file);
  };
  const md5 = (body) => crypto.createHash('md5').update(body).digest('hex');
  const store = server.store;
  store.putObject = async (object) => {
    const body = await readWhole(object.content);
    await writeAtomically(store.getResourcePath(object.bucket, object.key, 'object'), body);
    const digest = md5(body);
    await store.putMetadata(object.bucket, object.key, object.metadata, digest);
    return { size: body.length, md5: digest };
  };
  store.putPart = async (bucket, uploadId, partNumber, content) => {
    const body = await readWhole(content);
    const partPath = path.join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId, String(partNumber));
    await writeAtomically(partPath, body);
    const digest = md5(body);
    await fsp.writeFile(partPath + '.md5', digest);
    return { size: body.length, md5: digest };
  };
}
server.run().then(
  (address) => process.stdout.write(${JSON.stringify(READY_MARKER)} + JSON.stringify({ port: address.port }) + '\\n'),
  (error) => { console.error(error); process.exit(1); },
);
process.on('SIGTERM', () => {
  setTimeout(() => process.exit(0), 2000).unref();
  server.close(() => process.exit(0));
  if (server.httpServer && server.httpServer.closeAllConnections) server.httpServer.closeAllConnections();
});
`;

export class S3Server extends ManagedProcess {
  readonly port: number;
  readonly endpoint: string;
  readonly bucket: string;
  readonly directory: string;
  readonly region = S3_REGION;
  readonly accessKeyId = S3RVER_ACCESS_KEY_ID;
  readonly secretAccessKey = S3RVER_SECRET_ACCESS_KEY;
  readonly strictUploads: boolean;
  private readonly readyTimeoutMs: number;

  private constructor(port: number, bucket: string, directory: string, options: S3ServerOptions) {
    super(
      { name: 's3rver', outputTag: 's3rver', label: `s3rver :${port}`, dirNote: `dir ${directory}` },
      { stopTimeoutMs: 10_000, outputLimitBytes: options.outputLimitBytes },
    );
    this.port = port;
    this.endpoint = `http://127.0.0.1:${port}`;
    this.bucket = bucket;
    this.directory = directory;
    this.strictUploads = options.strictUploads ?? true;
    this.readyTimeoutMs = options.readyTimeoutMs ?? 20_000;
  }

  /** Spawn s3rver and wait until it listens with the bucket made. */
  static async start(options: S3ServerOptions = {}): Promise<S3Server> {
    const bucket = options.bucket ?? 'strata';
    const directory = options.directory ?? tempDir('strata-s3rver-');
    return startOnFreePort(
      options.port,
      (port) => new S3Server(port, bucket, directory, options),
      (server) => server.spawn(),
      (logs) => logs.includes('EADDRINUSE'),
    );
  }

  /** The last output of every incarnation (s3rver logs one line per request; its colours removed). */
  override logs(): string {
    // eslint-disable-next-line no-control-regex
    return super.logs().replace(/\x1b\[[0-9;]*m/g, '');
  }

  /**
   * The environment that points a BrokerProcess at this bucket (docs/architecture.md#http-api names): pass it as
   * `env`. `prefix` sets STRATA_S3_PREFIX (one per test keeps tests apart in one bucket); `via` points
   * the broker at something in front of the server instead (a FaultProxy), same credentials.
   */
  brokerEnv(prefix?: string, via?: S3EndpointOverride): Record<string, string> {
    const env: Record<string, string> = {
      STRATA_S3_BUCKET: this.bucket,
      STRATA_S3_ENDPOINT: via?.endpoint ?? this.endpoint,
      STRATA_S3_REGION: this.region,
      STRATA_S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: this.accessKeyId,
      AWS_SECRET_ACCESS_KEY: this.secretAccessKey,
    };
    if (prefix !== undefined) env['STRATA_S3_PREFIX'] = prefix;
    return env;
  }

  /**
   * An S3 client for this server (path style, its credentials, checksums only when required, which
   * s3rver needs). `overrides` win: `{ endpoint: proxy.endpoint, maxAttempts: 1 }`. Call destroy().
   */
  client(overrides: S3ClientConfig = {}): S3Client {
    return new S3Client({
      endpoint: this.endpoint,
      region: this.region,
      forcePathStyle: true,
      credentials: { accessKeyId: this.accessKeyId, secretAccessKey: this.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...overrides,
    });
  }

  /** Make another bucket (the one named at start already exists). */
  async createBucket(name: string): Promise<void> {
    const client = this.client();
    try {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    } finally {
      client.destroy();
    }
  }

  protected override async spawn(): Promise<void> {
    if (this.running) throw new Error(`s3rver :${this.port} is already running (pid ${String(this.pid)})`);
    const child = spawn(process.execPath, ['--openssl-legacy-provider', '--import', WATCHDOG_IMPORT, '-e', CHILD_SCRIPT], {
      env: {
        ...process.env,
        S3SERVER_MAIN: createRequire(import.meta.url).resolve('s3rver'),
        S3SERVER_PORT: String(this.port),
        S3SERVER_DIR: this.directory,
        S3SERVER_BUCKETS: JSON.stringify([this.bucket]),
        S3SERVER_STRICT_UPLOADS: this.strictUploads ? '1' : '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.launch(child, ` port ${this.port}`);
    await this.waitListening(child);
  }

  /** Resolve on the child's ready line; fail if it exits first or takes too long (then SIGKILL it). */
  private waitListening(child: ChildProcess): Promise<void> {
    return new Promise((resolve, reject) => {
      let pending = '';
      const onData = (chunk: Buffer): void => {
        pending = (pending + chunk.toString('utf8')).slice(-4096);
        const at = pending.indexOf(READY_MARKER);
        if (at >= 0 && pending.indexOf('\n', at) >= 0) finish();
      };
      const onExit = (): void => finish(new Error(`s3rver exited before it listened:\n${this.logs()}`));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        finish(new Error(`s3rver did not listen within ${this.readyTimeoutMs} ms:\n${this.logs()}`));
      }, this.readyTimeoutMs);
      const finish = (error?: Error): void => {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.off('exit', onExit);
        if (error === undefined) resolve();
        else reject(error);
      };
      child.stdout?.on('data', onData);
      child.once('exit', onExit);
    });
  }
}
