// The Kafka listener's metrics, in the broker's registry: requests by api and version, error codes
// in answers, connections, bytes in and out, and why connections were closed.

import { Counter, Gauge, type Registry } from 'prom-client';
import type { LogFields, Logger } from '../logger.js';

export type RefusalReason =
  | 'bad_size'
  | 'bad_header'
  | 'unknown_api'
  | 'bad_request'
  | 'unsupported_version'
  | 'acks0_produce_failed'
  | 'handler_error'
  | 'request_timeout'
  | 'idle'
  | 'connections_per_address'
  | 'connections_per_principal'
  | 'connection_creation_rate'
  | 'connections_total'
  | 'unauthenticated';

export class KafkaListenerMetrics {
  readonly requests: Counter<'api' | 'version'>;
  readonly errors: Counter<'api' | 'code'>;
  readonly refused: Counter<'reason'>;
  readonly bytesReceived: Counter;
  readonly bytesSent: Counter;
  readonly budgetWaits: Counter;
  readonly muted: Counter;
  readonly #loggedReasons = new Set<RefusalReason>();

  constructor(registry: Registry, sources: { connections: () => number; requestBytesInFlight: () => number }) {
    const registers = [registry];
    this.requests = new Counter({ name: 'strata_kafka_requests_total', help: 'Kafka requests received, by api and version.', labelNames: ['api', 'version'], registers });
    this.errors = new Counter({ name: 'strata_kafka_errors_total', help: 'Kafka error codes answered (per partition or topic), by api and Kafka error name.', labelNames: ['api', 'code'], registers });
    this.refused = new Counter({ name: 'strata_kafka_connections_closed_total', help: 'Kafka connections closed by the broker, by reason (garbage, limits, idle).', labelNames: ['reason'], registers });
    this.bytesReceived = new Counter({ name: 'strata_kafka_received_bytes_total', help: 'Bytes received on Kafka connections.', registers });
    this.bytesSent = new Counter({ name: 'strata_kafka_sent_bytes_total', help: 'Bytes written to Kafka connections.', registers });
    this.budgetWaits = new Counter({ name: 'strata_kafka_request_budget_waits_total', help: 'Frames that waited for room in STRATA_KAFKA_REQUEST_BYTES_IN_FLIGHT.', registers });
    this.muted = new Counter({ name: 'strata_kafka_connections_muted_total', help: 'Times a Kafka connection stopped reading for a quota throttle time (KIP-219).', registers });
    new Gauge({ name: 'strata_kafka_connections', help: 'Open Kafka connections.', registers, collect() { this.set(sources.connections()); } });
    new Gauge({ name: 'strata_kafka_request_bytes_in_flight', help: 'Request bytes reserved by Kafka connections.', registers, collect() { this.set(sources.requestBytesInFlight()); } });
  }

  /** The first refusal of each kind is a warning (an operator should see garbage arrive); the rest are debug lines. */
  logRefusal(logger: Logger, reason: RefusalReason, fields: LogFields): void {
    if (this.#loggedReasons.has(reason) || reason === 'idle') {
      logger.debug('kafka connection closed', { reason, ...fields });
      return;
    }
    this.#loggedReasons.add(reason);
    logger.warn('kafka connection closed (further ones for this reason are logged at debug)', { reason, ...fields });
  }
}
