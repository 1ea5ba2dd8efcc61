// Where topic metadata persists: the coordinator (cluster/coordinator-stores.ts), whichever engine
// it is (docs/architecture.md#coordination). The registry reaches it through this seam.

import type { TopicConfigOverrides } from './topic-config.js';

export interface TopicMetadata {
  name: string;
  /** Distinguishes a topic from an earlier one of the same name. */
  topicId: string;
  partitions: number;
  replicationFactor: number;
  /** Only the configs set on the topic; the rest follow the broker defaults. */
  configs: TopicConfigOverrides;
  createdAtMs: number;
}

export interface MetadataStore {
  load(): Promise<TopicMetadata[]>;
  /** Creates or replaces the topic's metadata; durable when it resolves. */
  put(topic: TopicMetadata): Promise<void>;
  remove(name: string): Promise<void>;
}

/** The directory under the data dir that holds the broker's own files (the in-process coordinator's under coord/). */
export const META_DIR = '__strata';
