// The broker's coordinator: Redis when STRATA_REDIS_URL names one (a cluster), else the in-process
// engine under the data dir (a single node, a cluster of one).

import { join } from 'node:path';
import { MemoryCoordinator, RedisCoordinator, type Coordinator } from '@strata/coord';
import { isStrataError, StrataError } from '@strata/protocol';
import { redactUrl, type BrokerConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { readPemFile } from '../security/tls.js';
import { META_DIR } from '../topics/metadata-store.js';
import { exists } from './listen.js';

export interface OpenedCoordinator {
  coordinator: Coordinator;
  /** The in-process engine, when that is the coordinator (the data dir's import and the bucket's restore need it). */
  memory: MemoryCoordinator | null;
  /** The in-process engine was created now, on a data dir without one: the one case where the bucket may fill it. */
  fresh: boolean;
}

export async function openCoordinator(config: BrokerConfig, logger: Logger): Promise<OpenedCoordinator> {
  const clusterConfig = config.cluster;
  if (clusterConfig.redisUrl !== '') {
    const coordinator = await RedisCoordinator.connect({
      url: clusterConfig.redisUrl,
      ...(clusterConfig.redisCaFile === '' ? {} : { redis: { tls: { ca: (await readPemFile('STRATA_REDIS_CA_FILE', clusterConfig.redisCaFile))! } } }),
      prefix: clusterConfig.redisPrefix,
      leaseTtlMaxMs: clusterConfig.leaseTtlMs,
      // Every broker of a cluster runs with the same lease TTL: the quarantine after a Redis restart covers it.
      restartQuarantineMs: clusterConfig.leaseTtlMs,
      groupLimits: config.groups.limits,
    }).catch((e: unknown) => {
      // Marked, so `strata serve` can say how to get a Redis running; the cause keeps the client's error.
      const redisUrl = redactUrl(clusterConfig.redisUrl);
      throw new StrataError(isStrataError(e) ? e.code : 'STORAGE_ERROR', `cannot reach Redis at ${redisUrl} (STRATA_REDIS_URL): ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
        details: { coordinatorUnreachable: 'redis', redisUrl },
      });
    });
    logger.info('coordinator connected', { coordinator: coordinator.description, redis: redactUrl(clusterConfig.redisUrl) });
    return { coordinator, memory: null, fresh: false };
  }
  const dir = join(config.dataDir, META_DIR, 'coord');
  const fresh = !(await exists(join(dir, 'cluster.json')));
  // No restart quarantine: the engine keeps no lease of another process, only this broker's own.
  const memory = await MemoryCoordinator.open({
    dir,
    leaseTtlMaxMs: clusterConfig.leaseTtlMs,
    groupLimits: config.groups.limits,
    offsetsFlushIntervalMs: config.groups.offsetsFlushIntervalMs,
    offsetsLogRollBytes: config.groups.offsetsLogRollBytes,
  });
  return { coordinator: memory, memory, fresh };
}
