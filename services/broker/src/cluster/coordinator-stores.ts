// The clustered build's stores: topic metadata and remote manifests live in the
// coordinator (Redis), behind the same seams the single node uses for its files.

import { StrataError } from '@strata/protocol';
import type { Coordinator, TopicConfigChange } from '@strata/coord';
import type { ManifestStore, PartitionManifest, RemoteSegment } from '../tiering/manifest.js';
import type { MetadataStore, TopicMetadata } from '../topics/metadata-store.js';
import type { TopicConfigOverrides } from '../topics/topic-config.js';

export class CoordinatorMetadataStore implements MetadataStore {
  readonly #coordinator: Coordinator;

  constructor(coordinator: Coordinator) {
    this.#coordinator = coordinator;
  }

  async load(): Promise<TopicMetadata[]> {
    return (await this.#coordinator.listTopics()).map(toBrokerMeta);
  }

  /** Creates the topic, or grows and patches the configs of the same incarnation (the coordinator applies each atomically). */
  async put(meta: TopicMetadata): Promise<void> {
    const stored = await this.#coordinator.getTopic(meta.name);
    if (stored === null) {
      await this.#coordinator.createTopic(meta);
      return;
    }
    if (stored.topicId !== meta.topicId) {
      throw new StrataError('TOPIC_ALREADY_EXISTS', `topic "${meta.name}" already exists`, { details: { topic: meta.name } });
    }
    // A topic only grows (CreatePartitions); the coordinator refuses a smaller count.
    if (meta.partitions !== stored.partitions) await this.#coordinator.growTopicPartitions(meta.name, meta.topicId, meta.partitions);
    const change: TopicConfigChange = {
      set: meta.configs,
      remove: Object.keys(stored.configs).filter((key) => !(key in meta.configs)),
    };
    await this.#coordinator.updateTopicConfigs(meta.name, change);
  }

  async remove(name: string): Promise<void> {
    await this.#coordinator.deleteTopic(name);
  }
}

function toBrokerMeta(meta: Awaited<ReturnType<Coordinator['listTopics']>>[number]): TopicMetadata {
  return { ...meta, configs: meta.configs as TopicConfigOverrides };
}

/** Manifest changes as fenced coordinator operations; what they return is read back, not guessed. */
export class CoordinatorManifestStore implements ManifestStore {
  readonly #coordinator: Coordinator;

  constructor(coordinator: Coordinator) {
    this.#coordinator = coordinator;
  }

  async load(topic: string, partition: number): Promise<PartitionManifest | null> {
    return this.#coordinator.loadManifest(topic, partition);
  }

  async commit(topic: string, partition: number, _current: PartitionManifest, segment: RemoteSegment): Promise<PartitionManifest> {
    await this.#coordinator.commitSegment(topic, partition, segment);
    return this.#coordinator.loadManifest(topic, partition);
  }

  async advanceStart(topic: string, partition: number, _current: PartitionManifest, epoch: number, offset: number): Promise<{ manifest: PartitionManifest; removed: RemoteSegment[] }> {
    const { removed } = await this.#coordinator.advanceLogStart(topic, partition, epoch, offset);
    return { manifest: await this.#coordinator.loadManifest(topic, partition), removed };
  }

  /** The coordinator drops a topic's manifests with the topic. */
  async remove(): Promise<void> {}
}
