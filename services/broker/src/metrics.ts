// Prometheus metrics, wired at the service. One Registry per broker so several
// brokers in one process (tests) do not collide.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PartitionHandle } from './topics/topic-registry.js';

export interface MetricSources {
  partitions: () => Iterable<PartitionHandle>;
  topicCount: () => number;
  waiters: () => number;
  waitersRejected: () => number;
  ready: () => boolean;
  /** Partitions whose log could not be opened at start (served as errors). */
  offlinePartitions: () => number;
  /** The data disk: free bytes (-1 before the first measurement) and whether it is below the floor. */
  disk: () => { freeBytes: number; full: boolean };
  /** The segment file descriptor cache. */
  segmentFiles: () => { open: number; opensTotal: number; evictionsTotal: number };
}

export class BrokerMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpRefused: Counter<'reason'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly produceRecords: Counter<'topic' | 'partition'>;
  readonly produceBytes: Counter<'topic' | 'partition'>;
  readonly fetchRecords: Counter<'topic' | 'partition'>;
  readonly fetchBytes: Counter<'topic' | 'partition'>;
  readonly maintenanceRuns: Counter<'result'>;
  readonly maintenanceDuration: Histogram;
  readonly acksAllSeconds: Histogram;

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });

    this.httpRequests = new Counter({
      name: 'strata_http_requests_total',
      help: 'HTTP requests answered, by route pattern and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.httpRefused = new Counter({
      name: 'strata_http_refused_total',
      help: 'Connections closed and request bodies refused by the per-connection, per-address and broker limits, and failed TLS handshakes (tls_handshake), by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'strata_http_request_duration_seconds',
      help: 'HTTP request latency (long-poll fetches include their wait).',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.produceRecords = new Counter({
      name: 'strata_produce_records_total',
      help: 'Records appended.',
      labelNames: ['topic', 'partition'],
      registers,
    });
    this.produceBytes = new Counter({
      name: 'strata_produce_bytes_total',
      help: 'RecordBatch bytes appended.',
      labelNames: ['topic', 'partition'],
      registers,
    });
    this.fetchRecords = new Counter({
      name: 'strata_fetch_records_total',
      help: 'Records returned by JSON fetches.',
      labelNames: ['topic', 'partition'],
      registers,
    });
    this.fetchBytes = new Counter({
      name: 'strata_fetch_bytes_total',
      help: 'RecordBatch bytes read by fetches (JSON and raw).',
      labelNames: ['topic', 'partition'],
      registers,
    });
    this.maintenanceRuns = new Counter({
      name: 'strata_log_maintenance_total',
      help: 'Per-partition maintenance runs (roll, retention, flush), by result.',
      labelNames: ['result'],
      registers,
    });
    this.maintenanceDuration = new Histogram({
      name: 'strata_log_maintenance_pass_seconds',
      help: 'Duration of one maintenance pass over all partitions.',
      buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 30],
      registers,
    });

    this.acksAllSeconds = new Histogram({
      name: 'strata_produce_acks_all_wait_seconds',
      help: 'acks=all: time from the local append until the high watermark covered the batch.',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
      registers,
    });

    const perPartition = (name: string, help: string, pick: (h: PartitionHandle) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['topic', 'partition'],
        registers,
        collect() {
          this.reset();
          for (const h of sources.partitions()) this.set({ topic: h.topic, partition: String(h.partition) }, pick(h));
        },
      });
    };
    perPartition('strata_log_end_offset', 'Log end offset per partition.', (h) => h.log.logEndOffset);
    perPartition('strata_log_start_offset', 'Log start offset per partition (all tiers).', (h) => h.tier.logStartOffset());
    perPartition('strata_local_log_start_offset', 'First offset on local disk per partition.', (h) => h.log.logStartOffset);
    perPartition('strata_remote_bytes', 'Bytes of segment objects per partition.', (h) => h.tier.remoteBytes());
    perPartition('strata_tier_upload_lag_bytes', 'Sealed local bytes not yet in the object store, per partition.', (h) => h.tier.uploadLag().bytes);
    perPartition('strata_tier_upload_lag_segments', 'Sealed local segments not yet in the object store, per partition.', (h) => h.tier.uploadLag().segments);
    perPartition('strata_log_size_bytes', 'Bytes on local disk per partition.', (h) => h.log.stats().sizeBytes);
    perPartition('strata_log_segments', 'Local segments per partition.', (h) => h.log.stats().segmentCount);

    new Gauge({
      name: 'strata_topics',
      help: 'Topics on this broker.',
      registers,
      collect() {
        this.set(sources.topicCount());
      },
    });
    new Gauge({
      name: 'strata_fetch_waiters',
      help: 'Long-poll fetches waiting for data.',
      registers,
      collect() {
        this.set(sources.waiters());
      },
    });
    new Gauge({
      name: 'strata_fetch_waiters_rejected',
      help: 'Long-poll waits refused because STRATA_MAX_FETCH_WAITERS was reached (cumulative).',
      registers,
      collect() {
        this.set(sources.waitersRejected());
      },
    });
    new Gauge({
      name: 'strata_offline_partitions',
      help: 'Partitions whose log could not be opened when the broker started (the broker log says why).',
      registers,
      collect() {
        this.set(sources.offlinePartitions());
      },
    });
    new Gauge({
      name: 'strata_disk_free_bytes',
      help: 'Bytes free (available to the broker) on the data disk, as last measured.',
      registers,
      collect() {
        this.set(sources.disk().freeBytes);
      },
    });
    new Gauge({
      name: 'strata_disk_full',
      help: '1 while the data disk is below STRATA_MIN_FREE_DISK_BYTES: the broker is read-only (produce refused with STORAGE_FULL).',
      registers,
      collect() {
        this.set(sources.disk().full ? 1 : 0);
      },
    });
    new Gauge({
      name: 'strata_open_segment_files',
      help: 'Segment file descriptors open now (bounded by STRATA_MAX_OPEN_SEGMENT_FILES, except while more are in use at once).',
      registers,
      collect() {
        this.set(sources.segmentFiles().open);
      },
    });
    new Gauge({
      name: 'strata_segment_file_opens',
      help: 'Segment files opened, first opens and reopens after an eviction (cumulative).',
      registers,
      collect() {
        this.set(sources.segmentFiles().opensTotal);
      },
    });
    new Gauge({
      name: 'strata_segment_file_evictions',
      help: 'Idle segment file descriptors closed to stay under STRATA_MAX_OPEN_SEGMENT_FILES (cumulative).',
      registers,
      collect() {
        this.set(sources.segmentFiles().evictionsTotal);
      },
    });
    new Gauge({
      name: 'strata_broker_ready',
      help: '1 when the broker is ready to serve (see /readyz).',
      registers,
      collect() {
        this.set(sources.ready() ? 1 : 0);
      },
    });
  }

  /** Drops a deleted topic's counter series. */
  forgetTopic(topic: string, partitions: number): void {
    for (let p = 0; p < partitions; p++) {
      const labels = { topic, partition: String(p) };
      this.produceRecords.remove(labels);
      this.produceBytes.remove(labels);
      this.fetchRecords.remove(labels);
      this.fetchBytes.remove(labels);
    }
  }
}
