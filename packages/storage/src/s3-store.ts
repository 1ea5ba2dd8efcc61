// The S3 engine: AWS S3 and anything that speaks its API (MinIO, R2, Ceph,
// s3rver in tests), through @aws-sdk/client-s3 and @aws-sdk/lib-storage.
//
// - Retries: every request runs under retry.ts#withRetries, the one policy; the
//   SDK's own retries are off (maxAttempts: 1). A GET is retried as a whole,
//   body included, so a connection reset mid-body is retried too.
// - Multipart uploads (putStream) use lib-storage's Upload, handed a view of
//   the client whose send() goes through the same retry policy, so each part is
//   retried on its own (a part is a buffer, so it can be re-sent) and carries
//   the caller's signal; on failure or abort Upload aborts the multipart upload.
// - Checksums: requestChecksumCalculation / responseChecksumValidation
//   'WHEN_REQUIRED'. Newer SDKs otherwise add CRC32 trailers that older or
//   partial S3 implementations (s3rver among them) reject or mis-store; the
//   data Strata stores carries its own CRC-32Cs (segment objects), and put()
//   sends Content-MD5, which AWS and MinIO verify (s3rver ignores it).
// - Connections: one kept-alive agent with a bounded number of sockets, so a
//   burst of reads queues instead of opening sockets without limit.

import { createHash } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { StrataError, isStrataError } from '@strata/protocol';
import { StorageError, abortedError, errorMessage, invalidRequest, raceAbort, throwIfAborted } from './errors.js';
import { normalizeStorePrefix, stripStorePrefix, validateObjectKey, withStorePrefix } from './keys.js';
import { readAnnouncedBody } from './response-body.js';
import { FILE_BODY_CHUNK_BYTES, fileBody, fileRangeBytes, validateFileRange, type FileRange } from './file-body.js';
import {
  DEFAULT_PART_SIZE_BYTES,
  MAX_DELETE_BATCH,
  listAllPages,
  resolveMaxKeys,
  resolvePartSize,
  validateRange,
  type ByteRange,
  type DeleteManyResult,
  type GetOptions,
  type ListOptions,
  type ListPage,
  type ListedObject,
  type ObjectInfo,
  type ObjectStore,
  type OperationOptions,
  type PutBody,
  type PutResult,
  type PutStreamOptions,
} from './object-store.js';
import { classifyStorageFailure, resolveRetryPolicy, withRetries, type RetryInfo, type RetryPolicy } from './retry.js';

export interface S3ObjectStoreOptions {
  bucket: string;
  /** Every key goes under `<prefix>/` (STRATA_S3_PREFIX); default none. */
  prefix?: string;
  /** For S3-compatible services: 'http://127.0.0.1:9000'. Default: AWS for the region. */
  endpoint?: string;
  /** Default 'us-east-1'. */
  region?: string;
  /** Path-style URLs (bucket in the path): needed by MinIO, s3rver and most non-AWS services. */
  forcePathStyle?: boolean;
  /** Default: the SDK's chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles, roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Attempts per request under the one retry policy (the SDK's own retries are off). Default 6. */
  maxAttempts?: number;
  /** One attempt of one request ends after this long; also the socket idle timeout. Default 30 s. */
  requestTimeoutMs?: number;
  /** TCP/TLS connect timeout. Default 5 s. */
  connectionTimeoutMs?: number;
  /** One operation, all its attempts and backoff included, ends after this long. Default 120 s. */
  deadlineMs?: number;
  /** The rest of the retry policy (backoff base and cap). */
  retry?: Partial<RetryPolicy>;
  /** Sockets per agent. Default 32. */
  maxSockets?: number;
  /** PEM CA(s) an https endpoint's certificate is checked against, instead of Node's roots (a private S3-compatible store). */
  ca?: string | Buffer;
  /** Parts in flight per putStream (memory: this times the part size). Default 2. */
  uploadConcurrency?: number;
  onRetry?: (info: RetryInfo) => void;
  /** Called before every attempt of every S3 request (for request-count metrics: S3 bills per request). */
  onRequest?: (info: S3RequestInfo) => void;
}

export interface S3RequestInfo {
  /** The S3 API operation: 'GetObject', 'UploadPart', ... */
  operation: string;
  /** The store-relative key, or a description for bulk operations. */
  target: string;
  /** 1 for the first attempt. */
  attempt: number;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_CONNECTION_TIMEOUT_MS = 5_000;
const DEFAULT_MAX_SOCKETS = 32;
const DEFAULT_UPLOAD_CONCURRENCY = 2;
/** S3's largest single PutObject. */
const SINGLE_PUT_MAX_BYTES = 5 * 1024 * 1024 * 1024;

interface SdkErrorShape {
  name?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

function sdkName(error: unknown): string | undefined {
  const name = (error as SdkErrorShape | null)?.name;
  return typeof name === 'string' ? name : undefined;
}

function sdkStatus(error: unknown): number | undefined {
  const status = (error as SdkErrorShape | null)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/** A missing object (but not a missing bucket, which is a configuration fault). */
function isNoSuchKey(error: unknown): boolean {
  const name = sdkName(error);
  if (name === 'NoSuchBucket') return false;
  return name === 'NoSuchKey' || name === 'NotFound' || sdkStatus(error) === 404;
}

function isRangeNotSatisfiable(error: unknown): boolean {
  return sdkName(error) === 'InvalidRange' || sdkStatus(error) === 416;
}

/** `bytes 0-99/1234` → {start, end, size}; null when absent or malformed. */
function parseContentRange(header: string | undefined): { start: number; end: number; size: number } | null {
  const m = header === undefined ? null : /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header.trim());
  if (m === null) return null;
  return { start: Number(m[1]), end: Number(m[2]), size: Number(m[3]) };
}

export class S3ObjectStore implements ObjectStore {
  readonly bucket: string;
  readonly prefix: string;
  readonly description: string;
  readonly #client: S3Client;
  readonly #agents: [HttpAgent, HttpsAgent];
  readonly #policy: RetryPolicy;
  readonly #uploadConcurrency: number;
  readonly #onRetry: ((info: RetryInfo) => void) | undefined;
  readonly #onRequest: ((info: S3RequestInfo) => void) | undefined;

  constructor(options: S3ObjectStoreOptions) {
    if (typeof options.bucket !== 'string' || options.bucket === '') throw new StrataError('INVALID_CONFIG', 'S3 bucket is required');
    this.bucket = options.bucket;
    this.prefix = normalizeStorePrefix(options.prefix);
    this.description = `s3://${this.bucket}${this.prefix === '' ? '' : `/${this.prefix}`}`;
    const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.#policy = resolveRetryPolicy({
      ...options.retry,
      ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
      ...(options.deadlineMs === undefined ? {} : { deadlineMs: options.deadlineMs }),
      attemptTimeoutMs: requestTimeoutMs,
    });
    const uploadConcurrency = options.uploadConcurrency ?? DEFAULT_UPLOAD_CONCURRENCY;
    const maxSockets = options.maxSockets ?? DEFAULT_MAX_SOCKETS;
    if (!Number.isSafeInteger(uploadConcurrency) || uploadConcurrency < 1) throw new StrataError('INVALID_CONFIG', 'uploadConcurrency must be >= 1');
    if (!Number.isSafeInteger(maxSockets) || maxSockets < 1) throw new StrataError('INVALID_CONFIG', 'maxSockets must be >= 1');
    this.#uploadConcurrency = uploadConcurrency;
    this.#onRetry = options.onRetry;
    this.#onRequest = options.onRequest;
    const agentOptions = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets };
    this.#agents = [new HttpAgent(agentOptions), new HttpsAgent({ ...agentOptions, ...(options.ca === undefined ? {} : { ca: options.ca }) })];
    this.#client = new S3Client({
      region: options.region ?? 'us-east-1',
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      forcePathStyle: options.forcePathStyle ?? false,
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      maxAttempts: 1, // retry.ts is the one retry policy
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: new NodeHttpHandler({
        httpAgent: this.#agents[0],
        httpsAgent: this.#agents[1],
        connectionTimeout: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
        socketTimeout: requestTimeoutMs,
      }),
    });
  }

  /** One HEAD of the bucket: call at start to fail fast on a wrong bucket, endpoint or credentials. */
  async checkAccess(options?: OperationOptions): Promise<void> {
    await this.#run('HeadBucket', this.bucket, options?.signal, (signal) => this.#client.send(new HeadBucketCommand({ Bucket: this.bucket }), { abortSignal: signal }));
  }

  async put(key: string, body: Buffer, options?: OperationOptions): Promise<PutResult> {
    const bucketKey = this.#bucketKey(key);
    if (!Buffer.isBuffer(body)) throw invalidRequest('put needs a Buffer body');
    const contentMd5 = createHash('md5').update(body).digest('base64');
    const out = await this.#run('PutObject', key, options?.signal, (signal) =>
      this.#client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: bucketKey, Body: body, ContentLength: body.length, ContentMD5: contentMd5 }),
        { abortSignal: signal },
      ),
    );
    return { etag: out.ETag ?? '' };
  }

  async putFile(key: string, source: FileRange, options?: OperationOptions): Promise<PutResult> {
    validateFileRange(source);
    const bucketKey = this.#bucketKey(key);
    const length = fileRangeBytes(source);
    // Past S3's single-PUT limit, the multipart path (its parts are buffered: memory = part size x concurrency).
    if (length > SINGLE_PUT_MAX_BYTES) return this.putStream(key, fileBody(source), { ...options, partSizeBytes: DEFAULT_PART_SIZE_BYTES });
    const { size } = await stat(source.path).catch((e: unknown) => {
      throw new StorageError(`${this.description} putFile ${key}: cannot read ${source.path}: ${errorMessage(e)}`, { retriable: false, cause: e });
    });
    if (size < source.end) throw invalidRequest(`${source.path} ends at byte ${size}, before the ${source.end} the object needs`);
    if (length <= FILE_BODY_CHUNK_BYTES) {
      // No bigger than one chunk: one buffer, sent with its Content-MD5 (and no 100-continue round trip).
      const parts: Buffer[] = [];
      for await (const chunk of fileBody(source)) parts.push(chunk);
      return this.put(key, Buffer.concat(parts, length), options);
    }
    const out = await this.#run('PutObject', key, options?.signal, async (signal) => {
      // A fresh stream per attempt: a retried PUT re-reads the file from the start of its range.
      const body = Readable.from(fileBody(source), { objectMode: false });
      // The SDK does not see a body that fails part-way (it would wait for the request timeout):
      // the failure aborts the attempt and is what the caller gets.
      const attempt = AbortSignal.any([signal, abortOn(body)]);
      try {
        return await this.#client.send(new PutObjectCommand({ Bucket: this.bucket, Key: bucketKey, Body: body, ContentLength: length }), { abortSignal: attempt });
      } catch (e) {
        if (attempt.aborted && !signal.aborted) throw attempt.reason;
        throw e;
      } finally {
        body.destroy();
      }
    });
    return { etag: out.ETag ?? '' };
  }

  async putStream(key: string, body: PutBody, options?: PutStreamOptions): Promise<PutResult> {
    const bucketKey = this.#bucketKey(key);
    const partSize = resolvePartSize(options?.partSizeBytes);
    const signal = options?.signal;
    const what = `${this.description} putStream ${key}`;
    throwIfAborted(signal, what);
    const source = body instanceof Readable ? body : Readable.from(body);
    const abortController = new AbortController();
    const onAbort = (): void => abortController.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const upload = new Upload({
      client: this.#retryingClient(key, signal),
      params: { Bucket: this.bucket, Key: bucketKey, Body: source },
      partSize,
      queueSize: this.#uploadConcurrency,
      leavePartsOnError: false,
      abortController,
    });
    let ok = false;
    try {
      const out = await raceAbort(upload.done(), signal, what);
      ok = true;
      return { etag: out.ETag ?? '' };
    } catch (error) {
      if (signal?.aborted) throw abortedError(signal, what);
      if (isStrataError(error)) throw error;
      // Upload's own failures (its checks, or the body stream failing).
      throw new StorageError(`${what} failed: ${errorMessage(error)}`, { retriable: classifyStorageFailure(error).retriable, cause: error });
    } finally {
      signal?.removeEventListener('abort', onAbort);
      // Unblocks Upload if it is still waiting on the body, so it can abort the multipart upload.
      if (!ok) source.destroy();
    }
  }

  async get(key: string, options?: GetOptions): Promise<Buffer | null> {
    const bucketKey = this.#bucketKey(key);
    const range = options?.range;
    if (range !== undefined) validateRange(range);
    return this.#run('GetObject', key, options?.signal, async (signal) => {
      let out;
      try {
        out = await this.#client.send(
          new GetObjectCommand({ Bucket: this.bucket, Key: bucketKey, ...(range === undefined ? {} : { Range: `bytes=${range.start}-${range.end}` }) }),
          { abortSignal: signal },
        );
      } catch (error) {
        if (isNoSuchKey(error)) return null;
        if (range !== undefined && isRangeNotSatisfiable(error)) throw this.#rangeError(key, range, error);
        throw error;
      }
      if (out.Body === undefined) throw new StorageError(`${this.description} get ${key}: the response has no body`, { retriable: true });
      let body: Buffer;
      if (out.ContentLength !== undefined && out.Body instanceof Readable) {
        body = await readAnnouncedBody(out.Body, out.ContentLength, `${this.description} get ${key}`, signal, options?.into);
      } else {
        const bytes = await out.Body.transformToByteArray();
        body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      }
      if (out.ContentLength !== undefined && body.length !== out.ContentLength) {
        throw new StorageError(`${this.description} get ${key}: the body ended after ${body.length} of ${out.ContentLength} bytes`, { retriable: true });
      }
      if (range !== undefined) body = this.#checkRange(key, range, body, out.ContentRange);
      return body;
    });
  }

  async head(key: string, options?: OperationOptions): Promise<ObjectInfo | null> {
    const bucketKey = this.#bucketKey(key);
    return this.#run('HeadObject', key, options?.signal, async (signal) => {
      try {
        const out = await this.#client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: bucketKey }), { abortSignal: signal });
        return { size: out.ContentLength ?? 0, etag: out.ETag ?? '', lastModified: out.LastModified ?? new Date(0) };
      } catch (error) {
        if (isNoSuchKey(error)) return null;
        throw error;
      }
    });
  }

  async list(prefix: string, options?: ListOptions): Promise<ListPage> {
    const maxKeys = resolveMaxKeys(options?.maxKeys);
    if (typeof prefix !== 'string') throw invalidRequest('list needs a string prefix');
    const out = await this.#run('ListObjectsV2', prefix, options?.signal, (signal) =>
      this.#client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.prefix === '' ? prefix : `${this.prefix}/${prefix}`,
          MaxKeys: maxKeys,
          ...(options?.continuationToken === undefined ? {} : { ContinuationToken: options.continuationToken }),
        }),
        { abortSignal: signal },
      ),
    );
    const objects: ListedObject[] = [];
    for (const item of out.Contents ?? []) {
      const key = item.Key === undefined ? null : stripStorePrefix(this.prefix, item.Key);
      if (key === null) continue;
      objects.push({ key, size: item.Size ?? 0, lastModified: item.LastModified ?? new Date(0) });
    }
    const next = out.IsTruncated === true ? out.NextContinuationToken : undefined;
    return next === undefined ? { objects } : { objects, nextContinuationToken: next };
  }

  listAll(prefix: string, options?: OperationOptions & { pageSize?: number }): AsyncIterable<ListedObject> {
    return listAllPages(this, prefix, options);
  }

  async deleteMany(keys: readonly string[], options?: OperationOptions): Promise<DeleteManyResult> {
    const unique = [...new Set(keys)];
    for (const key of unique) this.#bucketKey(key); // all keys valid before the first request
    const signal = options?.signal;
    const result: DeleteManyResult = { deleted: [], errors: [] };
    for (let i = 0; i < unique.length; i += MAX_DELETE_BATCH) {
      const batch = unique.slice(i, i + MAX_DELETE_BATCH);
      const out = await this.#run('DeleteObjects', `${batch.length} keys`, signal, (attemptSignal) =>
        this.#client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((key) => ({ Key: this.#bucketKey(key) })), Quiet: true },
          }),
          { abortSignal: attemptSignal },
        ),
      );
      const refused = new Map<string, string>();
      for (const e of out.Errors ?? []) {
        const key = e.Key === undefined ? null : stripStorePrefix(this.prefix, e.Key);
        if (key === null || e.Code === 'NoSuchKey') continue; // missing = deleted
        refused.set(key, `${e.Code ?? 'Error'}: ${e.Message ?? ''}`.trim());
      }
      // A per-key error can be transient (s3rver's DeleteObjects races with
      // itself on shared directories): each refused key gets one more try, alone.
      for (const [key, message] of refused) {
        try {
          await this.#run('DeleteObject', key, signal, async (attemptSignal) => {
            try {
              await this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.#bucketKey(key) }), { abortSignal: attemptSignal });
            } catch (error) {
              if (!isNoSuchKey(error)) throw error;
            }
          });
          refused.delete(key);
        } catch (error) {
          if (isStrataError(error) && error.code === 'REQUEST_TIMED_OUT') throw error;
          refused.set(key, `${message}; then, alone: ${errorMessage(error)}`);
        }
      }
      for (const key of batch) if (!refused.has(key)) result.deleted.push(key);
      for (const [key, message] of refused) result.errors.push({ key, message });
    }
    return result;
  }

  async close(): Promise<void> {
    this.#client.destroy();
    for (const agent of this.#agents) agent.destroy();
  }

  // ---- internals ----------------------------------------------------------

  #bucketKey(key: string): string {
    validateObjectKey(key);
    return withStorePrefix(this.prefix, key);
  }

  #run<T>(operation: string, target: string, signal: AbortSignal | undefined, attempt: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return withRetries(
      (context) => {
        this.#onRequest?.({ operation, target, attempt: context.attempt });
        return attempt(context.signal);
      },
      { what: `${this.description} ${operation} ${target}`, policy: this.#policy, signal, onRetry: this.#onRetry },
    );
  }

  /**
   * The client as lib-storage's Upload sees it: the same client, but send()
   * runs under the retry policy and the caller's signal. The clean-up
   * (AbortMultipartUpload) must outlive an aborted caller, so it gets no signal.
   */
  #retryingClient(key: string, signal: AbortSignal | undefined): S3Client {
    const client = this.#client;
    const send = (command: Parameters<S3Client['send']>[0]): Promise<unknown> => {
      const commandSignal = command instanceof AbortMultipartUploadCommand ? undefined : signal;
      return this.#run(command.constructor.name.replace(/Command$/, ''), key, commandSignal, (attemptSignal) => client.send(command, { abortSignal: attemptSignal }));
    };
    return new Proxy(client, {
      get: (target, property, receiver): unknown => (property === 'send' ? send : Reflect.get(target, property, receiver)),
    });
  }

  #rangeError(key: string, range: ByteRange, cause?: unknown, size?: number): StorageError {
    return new StorageError(
      `${this.description} get ${key}: range starts at byte ${range.start}${size === undefined ? ', past the end of the object' : `, the object has ${size} bytes`} (HTTP 416)`,
      { retriable: false, cause, details: { range, ...(size === undefined ? {} : { size }) } },
    );
  }

  /**
   * Checks that a ranged response is the range asked for, and trims it when a
   * server sent more. s3rver answers `bytes=0-0` with the whole object (it
   * reads end 0 as "no end"); a server that ignores Range sends 200 and all of it.
   */
  #checkRange(key: string, range: ByteRange, body: Buffer, contentRange: string | undefined): Buffer {
    const answered = parseContentRange(contentRange);
    if (answered === null) {
      // No Content-Range: the whole object.
      if (range.start >= body.length) throw this.#rangeError(key, range, undefined, body.length);
      return body.subarray(range.start, Math.min(range.end, body.length - 1) + 1);
    }
    const wantedEnd = Math.min(range.end, answered.size - 1);
    if (answered.start !== range.start || answered.end < wantedEnd || answered.end - answered.start + 1 !== body.length) {
      throw new StorageError(
        `${this.description} get ${key}: asked for bytes ${range.start}-${range.end}, got Content-Range ${contentRange ?? ''} with ${body.length} bytes`,
        { retriable: false, details: { range, contentRange } },
      );
    }
    return body.subarray(0, wantedEnd - range.start + 1);
  }
}

/** A signal aborted (with the error) when the stream fails. */
function abortOn(stream: Readable): AbortSignal {
  const controller = new AbortController();
  stream.once('error', (e) => controller.abort(isStrataError(e) ? e : new StorageError(`reading the body failed: ${errorMessage(e)}`, { retriable: false, cause: e })));
  return controller.signal;
}
