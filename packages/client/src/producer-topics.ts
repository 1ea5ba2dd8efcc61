// The producer's view of its topics (producer.ts): each topic's metadata (partition count and
// max.message.bytes), looked up once and refreshed in the background past metadataMaxAgeMs, the
// sticky partition and the state of each partition sent to.

import { StrataError } from '@strata/protocol';
import type { StrataApi } from './api.js';
import { isUnknownTopic, type TopicMetadata, type TopicState } from './producer-state.js';

export class ProducerTopics {
  readonly #api: StrataApi;
  readonly #metadataMaxAgeMs: number;
  readonly #maxRequestBytes: number;
  readonly #topics = new Map<string, TopicState>();

  constructor(api: StrataApi, metadataMaxAgeMs: number, maxRequestBytes: number) {
    this.#api = api;
    this.#metadataMaxAgeMs = metadataMaxAgeMs;
    this.#maxRequestBytes = maxRequestBytes;
  }

  /** The topic's state if this producer has seen it. */
  get(name: string): TopicState | undefined {
    return this.#topics.get(name);
  }

  topic(name: string): TopicState {
    let state = this.#topics.get(name);
    if (state === undefined) {
      state = { metadata: null, loading: null, failure: null, sticky: -1, partitions: [] };
      this.#topics.set(name, state);
    }
    return state;
  }

  /**
   * The topic's metadata if this producer has it. Past metadataMaxAgeMs it is still used, while a
   * refresh runs in the background (sends never wait for a refresh, only for a first lookup).
   */
  known(topic: string, now: number): TopicMetadata | null {
    const state = this.#topics.get(topic);
    const metadata = state?.metadata ?? null;
    if (state !== undefined && metadata !== null && state.loading === null && now - metadata.fetchedAt >= this.#metadataMaxAgeMs) {
      const deadline = Date.now() + this.#api.connection.options.requestTimeoutMs;
      this.#lookup(topic, state, deadline).catch((e: unknown) => {
        if (isUnknownTopic(e)) state.metadata = null;
        // Otherwise keep the old metadata and try again after a backoff.
        else if (state.metadata !== null) state.metadata.fetchedAt = Date.now() - this.#metadataMaxAgeMs + this.#api.connection.options.retryBackoffMaxMs;
      });
    }
    return metadata;
  }

  /** The first lookup of a topic's metadata, which sends wait for (until their maxBlockMs). */
  async load(topic: string, deadline: number): Promise<TopicMetadata> {
    const state = this.topic(topic);
    if (state.failure !== null && Date.now() < state.failure.until) throw state.failure.error;
    try {
      return await (state.loading ?? this.#lookup(topic, state, deadline));
    } catch (e) {
      state.failure = { error: e, until: Date.now() + this.#api.connection.options.retryBackoffMs };
      throw e;
    }
  }

  #lookup(topic: string, state: TopicState, deadline: number): Promise<TopicMetadata> {
    const loading = this.#api
      .describeTopic(topic, { deadline })
      .then((d) => {
        if (d.partitions.length < 1) throw new StrataError('INTERNAL_ERROR', `describe topic ${topic}: no partitions in the answer`);
        const maxMessageBytes = Number(d.configs['max.message.bytes']);
        const metadata: TopicMetadata = {
          partitions: d.partitions.length,
          maxMessageBytes: Number.isSafeInteger(maxMessageBytes) && maxMessageBytes > 0 ? maxMessageBytes : this.#maxRequestBytes,
          fetchedAt: Date.now(),
        };
        state.metadata = metadata;
        state.failure = null;
        return metadata;
      })
      .finally(() => {
        state.loading = null;
      });
    state.loading = loading;
    return loading;
  }

  forget(topic: string): void {
    const state = this.#topics.get(topic);
    if (state !== undefined) state.metadata = null;
  }
}
