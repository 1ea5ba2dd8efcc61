import { LocalDirObjectStore, S3ObjectStore, type ObjectStore } from '@strata/storage';
import { readPemFile } from '../security/tls.js';
import type { ObjectStoreConfig } from '../config.js';

export interface ObjectStoreHooks {
  /** Every S3 request attempt, by API operation (S3 bills per request). */
  onS3Request?: (operation: string) => void;
  onS3Retry?: () => void;
}

/** The one place the broker picks an ObjectStore engine. Credentials come from the SDK's chain (AWS_* env, profiles, roles). */
export async function createObjectStore(config: ObjectStoreConfig, hooks: ObjectStoreHooks = {}): Promise<ObjectStore> {
  if (config.kind === 'local') return new LocalDirObjectStore(config.dir);
  const ca = await readPemFile('STRATA_S3_CA_FILE', config.caFile);
  return new S3ObjectStore({
    ...(ca === null ? {} : { ca }),
    bucket: config.bucket,
    prefix: config.prefix,
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    ...(config.endpoint !== '' ? { endpoint: config.endpoint } : {}),
    onRequest: (info) => hooks.onS3Request?.(info.operation),
    onRetry: () => hooks.onS3Retry?.(),
  });
}
