import { Counter, Histogram, type Registry } from 'prom-client';

export class TierMetrics {
  readonly uploads: Counter<'result'>;
  readonly uploadBytes: Counter;
  readonly uploadSeconds: Histogram;
  readonly remoteReads: Counter<'result'>;
  readonly remoteReadBytes: Counter;
  readonly remoteReadSeconds: Histogram;
  readonly fencedWrites: Counter;
  readonly cacheHits: Counter;
  readonly cacheMisses: Counter;
  readonly cacheFetchedBytes: Counter;
  readonly corruptObjects: Counter;
  readonly retentionDeletedSegments: Counter;
  readonly garbageDeleted: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.uploads = new Counter({ name: 'strata_tier_uploads_total', help: 'Segment uploads to the object store, by result.', labelNames: ['result'], registers });
    this.uploadBytes = new Counter({ name: 'strata_tier_upload_bytes_total', help: 'Bytes of segment objects uploaded.', registers });
    this.uploadSeconds = new Histogram({
      name: 'strata_tier_upload_seconds',
      help: 'Time to upload, commit and snapshot one segment.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.remoteReads = new Counter({ name: 'strata_tier_remote_reads_total', help: 'Fetches served from segment objects, by result.', labelNames: ['result'], registers });
    this.remoteReadBytes = new Counter({ name: 'strata_tier_remote_read_bytes_total', help: 'Batch bytes served from segment objects.', registers });
    this.remoteReadSeconds = new Histogram({
      name: 'strata_tier_remote_read_seconds',
      help: 'Latency of one remote read (cache included).',
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers,
    });
    this.cacheHits = new Counter({ name: 'strata_tier_cache_hits_total', help: 'Remote read chunks found in the cache.', registers });
    this.cacheMisses = new Counter({ name: 'strata_tier_cache_misses_total', help: 'Remote read chunks fetched from the object store.', registers });
    this.cacheFetchedBytes = new Counter({ name: 'strata_tier_cache_fetched_bytes_total', help: 'Bytes fetched from the object store into the cache.', registers });
    this.corruptObjects = new Counter({ name: 'strata_tier_corrupt_objects_total', help: 'Segment objects that failed their checksums or structure checks on read.', registers });
    this.retentionDeletedSegments = new Counter({ name: 'strata_tier_retention_deleted_segments_total', help: 'Remote segments deleted by retention.', registers });
    this.garbageDeleted = new Counter({ name: 'strata_tier_garbage_deleted_total', help: 'Uncommitted or superseded objects removed.', registers });
    this.fencedWrites = new Counter({ name: 'strata_tier_fenced_writes_total', help: 'Manifest writes (segment commits, log-start moves) refused because a newer leader epoch exists.', registers });
  }
}
