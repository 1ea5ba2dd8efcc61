// How the core reaches another broker: the transport a forward or a proxied
// read goes over. The core decides where a request goes (core/data.ts); a
// LeaderClient only carries it there. The HTTP forwarder (cluster/forwarder.ts)
// is the one implementation today; a Kafka listener can pass its own, or none
// (then every partition led elsewhere answers NOT_LEADER, as a Kafka broker does).

import type { Readable } from 'node:stream';
import type { AppendResult } from '@strata/log';

// Every call carries the request's origin: the leader checks the ACLs of the client that sent it
// (http/origin.ts), not of the broker that forwards it.

/** A leader's answer passed on as it came (status, bytes and the read headers a client needs). */
export interface ForwardedReply {
  status: number;
  body: Buffer;
  contentType: string;
  headers: Record<string, string>;
}

// `principal` (each method's last argument): the client's, as the front door authenticated it
// (RequestOrigin.principal). The leader trusts it only from an authenticated broker, and logs it;
// authorization happened where the request entered.
export interface LeaderClient {
  /** Appends validated RecordBatch bytes at the leader; resolves to its offsets or rejects with its typed error. */
  produce(leaderUrl: string, topic: string, partition: number, acks: string, batches: Buffer, origin: RequestOrigin, signal?: AbortSignal): Promise<Pick<AppendResult, 'baseOffset' | 'lastOffset' | 'recordCount' | 'duplicate'>>;
  /** Streams a raw produce body to the leader unread (the hot path does not buffer what it forwards). */
  produceStream(leaderUrl: string, pathAndQuery: string, body: Readable, contentType: string, contentLength: string | undefined, origin: RequestOrigin, signal?: AbortSignal): Promise<ForwardedReply>;
  /** Kafka's DeleteRecords at the leader: resolves to the new log start or rejects with its typed error. */
  deleteRecords(leaderUrl: string, topic: string, partition: number, beforeOffset: number, origin: RequestOrigin, signal?: AbortSignal): Promise<number>;
  /** Asks the leader the same read (`pathAndQuery` in origin form) and passes its answer on. */
  proxy(leaderUrl: string, pathAndQuery: string, origin: RequestOrigin, signal?: AbortSignal): Promise<ForwardedReply>;
}

/**
 * Who sent a request, as the core needs to know it. `forwardedBy`: another broker forwarded it here
 * (never forwarded again: one hop, no loops). `replay`: how to ask the leader the same read (the HTTP
 * target in origin form); absent, a read of a partition led elsewhere answers NOT_LEADER, and so does
 * a DeleteRecords (present: the caller wants it carried to the leader, as HTTP and one-address Kafka do).
 * `principal`: who the front door authenticated the client as, in Kafka's form (auth/principal.ts):
 * `User:<name>` (HTTP Basic or a token, SASL), `User:<certificate subject>` (mTLS), `User:ANONYMOUS`
 * when nobody was. `host`: the client's address. The ACLs are checked in the core against both
 * (auth/authorizer.ts), for every front door. On a forwarded request (`forwardedBy` set) both are
 * the client's where the request entered, carried by the forwarding broker and believed only
 * because that broker's credential verified (http/origin.ts).
 */
export interface RequestOrigin {
  readonly forwardedBy?: string;
  readonly replay?: string;
  readonly principal?: string;
  readonly host?: string;
  /** The broker's own work (lag metrics), not a client's request: never checked. No front door sets it. */
  readonly internal?: true;
}
