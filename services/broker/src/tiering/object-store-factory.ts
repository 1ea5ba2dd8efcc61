import { LocalDirObjectStore, S3ObjectStore, type ObjectStore } from '@strata/storage';
import type { ObjectStoreConfig } from '../config.js';

/** The one place the broker picks an ObjectStore engine. Credentials come from the SDK's chain (AWS_* env, profiles, roles). */
export function createObjectStore(config: ObjectStoreConfig): ObjectStore {
  if (config.kind === 'local') return new LocalDirObjectStore(config.dir);
  return new S3ObjectStore({
    bucket: config.bucket,
    prefix: config.prefix,
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    ...(config.endpoint !== '' ? { endpoint: config.endpoint } : {}),
  });
}
