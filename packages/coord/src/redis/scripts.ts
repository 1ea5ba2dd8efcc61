// The Lua scripts: one file per multi-key change under packages/coord/lua/, named
// `<name>-<numKeys>.lua` with a KEYS/ARGV/returns header, each prefixed with _prelude.lua and
// with the libraries its header names (`-- requires: _group.lua`; library files start with "_").
// They are read once per process, loaded into Redis once per connection (SCRIPT LOAD) and
// called by SHA; a NOSCRIPT reply (the server restarted or failed over, and the script cache is
// not persisted) loads them again (redis-coordinator.ts).
//
// Where the files are: packages/coord/lua/, resolved relative to this module. It is
// src/redis/scripts.ts under vitest and dist/redis/scripts.js once built; both are two levels
// below the package root, so one URL works for both and no build step copies anything.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { assert } from '../assert.js';

export const LUA_DIR = fileURLToPath(new URL('../../lua/', import.meta.url));
const PRELUDE_FILE = '_prelude.lua';
const SCRIPT_FILE = /^([a-z][a-z-]*[a-z])-(\d+)\.lua$/;
const REQUIRES = /^-- requires: (_[a-z]+\.lua)$/gm;

export const SCRIPT_NAMES = [
  'boot',
  'register-broker',
  'heartbeat-broker',
  'deregister-broker',
  'list-brokers',
  'create-topic',
  'update-topic-configs',
  'grow-topic-partitions',
  'delete-topic',
  'acquire-controller',
  'renew-controller',
  'release-controller',
  'read-controller',
  'set-replicas',
  'acquire-leadership',
  'renew-leadership',
  'release-leadership',
  'transfer-leadership',
  'update-partition',
  'commit-segment',
  'read-partition',
  'load-manifest',
  'commit-offsets',
  'reset-offsets',
  'group-heartbeat',
  'group-leave',
  'group-describe',
  'group-delete',
  'group-admit',
  'classic-store',
  'group-expire',
  'allocate-producer-ids',
  'alter-quotas',
  'put-user',
  'alter-scram-credentials',
  'delete-user',
  'create-token',
  'revoke-token',
  'change-acls',
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

export interface Script {
  name: ScriptName;
  file: string;
  /** The number of KEYS the script takes (from its file name). */
  numKeys: number;
  /** Prelude + body: the text Redis runs. */
  source: string;
  /** SHA-1 of `source`, as Redis computes it. */
  sha: string;
}

let cached: ReadonlyMap<ScriptName, Script> | undefined;

/** Every script, read once per process. Fails loudly when a file is missing, extra or misnamed. */
export function loadScripts(dir: string = LUA_DIR): ReadonlyMap<ScriptName, Script> {
  if (dir === LUA_DIR && cached !== undefined) return cached;
  const prelude = readFileSync(join(dir, PRELUDE_FILE), 'utf8');
  const scripts = new Map<ScriptName, Script>();
  for (const file of readdirSync(dir).sort()) {
    if (file.startsWith('_') || !file.endsWith('.lua')) continue;
    const match = SCRIPT_FILE.exec(file);
    assert(match !== null, `lua/${file} is not named <name>-<numKeys>.lua`);
    const name = match[1] as ScriptName;
    assert((SCRIPT_NAMES as readonly string[]).includes(name), `lua/${file} is not a known script`);
    assert(!scripts.has(name), `two files for script ${name}`);
    const body = readFileSync(join(dir, file), 'utf8');
    assert(/^-- KEYS|\n-- KEYS/.test(body) && /\n-- ARGV/.test(body) && /\n-- returns/.test(body), `lua/${file} lacks its KEYS/ARGV/returns header`);
    const libraries = [...body.matchAll(REQUIRES)].map((m) => {
      const library = m[1]!;
      assert(library !== PRELUDE_FILE, `lua/${file} requires the prelude, which every script gets`);
      return `-- ${library}\n${readFileSync(join(dir, library), 'utf8')}`;
    });
    const source = [prelude, ...libraries, `-- ${file}\n${body}`].join('\n');
    scripts.set(name, { name, file, numKeys: Number(match[2]), source, sha: createHash('sha1').update(source).digest('hex') });
  }
  for (const name of SCRIPT_NAMES) assert(scripts.has(name), `lua/${name}-<n>.lua is missing`);
  if (dir === LUA_DIR) cached = scripts;
  return scripts;
}
