// The web console (services/console) served at /console by every broker, from memory: its built
// files are read once at start (bounded in count and bytes), and a request is answered by an exact
// lookup in that table. No request path ever reaches the filesystem, so none can climb out of it.
// Hashed assets (Vite names them after their content) may be kept by browsers for a year; the page
// itself is revalidated (ETag) so a new build is seen at once.

import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, sep } from 'node:path';
import { StrataError } from '@strata/protocol';
import { CONSOLE_FILES_MAX } from '../config/settings.js';
import type { ConsoleConfig } from '../config/types.js';
import type { Logger } from '../logger.js';
import { errorBody, statusFor } from './errors.js';

export const CONSOLE_PATH = '/console';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';
/** The console talks to this broker only; it loads nothing from elsewhere and is framed by no one. */
const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
};

interface Asset {
  body: Buffer;
  contentType: string;
  etag: string;
  cacheControl: string;
}

export class ConsoleAssets {
  private constructor(
    readonly dir: string | null,
    readonly assets: ReadonlyMap<string, Asset>,
    /** Why there is no console to serve, when there is none. */
    readonly missing: string | null,
  ) {}

  get fileCount(): number {
    return this.assets.size;
  }

  /** Reads the built console into memory. A missing or oversized build is no reason to fail the broker: /console then says why. */
  static async load(config: ConsoleConfig, logger: Logger): Promise<ConsoleAssets> {
    if (config.dir === null) return new ConsoleAssets(null, new Map(), 'the console is turned off (STRATA_CONSOLE_DIR=off)');
    const dir = config.dir === '' ? builtConsoleDir() : config.dir;
    if (dir === null) return ConsoleAssets.#without(null, 'the console package (@strata/console) is not installed with this broker', logger);
    const assets = new Map<string, Asset>();
    let bytes = 0;
    try {
      for await (const file of walk(dir)) {
        if (assets.size >= CONSOLE_FILES_MAX) return ConsoleAssets.#without(dir, `${dir} holds more than ${CONSOLE_FILES_MAX} files`, logger);
        const size = (await stat(file)).size;
        bytes += size;
        if (bytes > config.assetsBytesMax) {
          return ConsoleAssets.#without(dir, `${dir} holds more than STRATA_CONSOLE_ASSETS_BYTES_MAX (${config.assetsBytesMax} bytes)`, logger);
        }
        const body = await readFile(file);
        const path = relative(dir, file).split(sep).join('/');
        assets.set(path, {
          body,
          contentType: CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
          etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
          cacheControl: path.startsWith('assets/') ? IMMUTABLE : REVALIDATE,
        });
      }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return ConsoleAssets.#without(dir, code === 'ENOENT' ? `the console is not built (no ${dir}): run pnpm build` : `cannot read ${dir}: ${String(e)}`, logger);
    }
    if (!assets.has('index.html')) return ConsoleAssets.#without(dir, `${dir} has no index.html: run pnpm build`, logger);
    return new ConsoleAssets(dir, assets, null);
  }

  static #without(dir: string | null, why: string, logger: Logger): ConsoleAssets {
    logger.warn('no web console', { reason: why });
    return new ConsoleAssets(dir, new Map(), why);
  }

  /** True when the request is the console's (it is then answered); false leaves it to the API. */
  serve(req: IncomingMessage, res: ServerResponse): boolean {
    const target = req.url ?? '/';
    if (!target.startsWith(CONSOLE_PATH)) return false; // every API request: no search of its target
    const pathEnd = target.search(/[?#]/);
    const pathname = pathEnd < 0 ? target : target.slice(0, pathEnd);
    if (pathname !== CONSOLE_PATH && !pathname.startsWith(`${CONSOLE_PATH}/`)) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      fail(res, new StrataError('METHOD_NOT_ALLOWED', `${req.method ?? '?'} is not allowed on the console; use GET, HEAD`), { Allow: 'GET, HEAD' });
      return true;
    }
    if (this.missing !== null) {
      fail(res, new StrataError('NOT_FOUND', `no web console on this broker: ${this.missing}`));
      return true;
    }
    const rest = pathname.slice(CONSOLE_PATH.length + 1);
    // Exact keys only: "%2e%2e/", "../" or "//" name no asset and fall to the 404 below.
    const asset = this.assets.get(rest === '' ? 'index.html' : rest);
    if (asset === undefined) {
      fail(res, new StrataError('NOT_FOUND', `no console file ${pathname}`));
      return true;
    }
    const headers = { ...SECURITY_HEADERS, 'Content-Type': asset.contentType, 'Cache-Control': asset.cacheControl, ETag: asset.etag };
    if (req.headers['if-none-match'] === asset.etag) {
      res.writeHead(304, headers);
      res.end();
      return true;
    }
    res.writeHead(200, { ...headers, 'Content-Length': asset.body.length });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
    return true;
  }
}

function fail(res: ServerResponse, error: StrataError, extra: Record<string, string> = {}): void {
  const body = JSON.stringify(errorBody(error));
  res.writeHead(statusFor(error.code), { ...extra, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** The dist/ of the @strata/console package installed beside this broker, or null when it is not. */
function builtConsoleDir(): string | null {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('@strata/console/package.json')), 'dist');
  } catch {
    return null;
  }
}

async function* walk(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.isFile()) yield path;
  }
}
