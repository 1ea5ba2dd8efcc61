// Configs as DescribeConfigs answers them: a topic's every config (its override or the broker
// default, with the source, read-only false, sensitive never) and the broker's relevant settings
// (read-only: they are STRATA_* settings read at start). Kafka's ConfigSource and ConfigType codes
// are those of org.apache.kafka.clients.admin.ConfigEntry.

import type { BrokerConfig } from '../../config.js';
import type { Topic } from '../../topics/topic-registry.js';
import { nodeIdOf } from '../cluster-view.js';

/** Kafka's ConfigSource. */
export const ConfigSource = { DYNAMIC_TOPIC_CONFIG: 1, STATIC_BROKER_CONFIG: 4, DEFAULT_CONFIG: 5 } as const;
/** Kafka's ConfigType (DescribeConfigs v3+). */
const ConfigType = { BOOLEAN: 1, STRING: 2, INT: 3, LONG: 5, LIST: 7 } as const;

/** Topic configs that Kafka declares as lists: the only ones APPEND and SUBTRACT apply to. */
export const LIST_TOPIC_CONFIGS: ReadonlySet<string> = new Set(['cleanup.policy']);

/**
 * The broker setting a topic default stands for, by Kafka's name (the synonym Kafka reports beside
 * a topic config); a key without one keeps its topic name.
 */
const BROKER_SYNONYM: Readonly<Record<string, string>> = {
  'segment.bytes': 'log.segment.bytes',
  'segment.ms': 'log.roll.ms',
  'retention.ms': 'log.retention.ms',
  'retention.bytes': 'log.retention.bytes',
  'local.retention.ms': 'log.local.retention.ms',
  'local.retention.bytes': 'log.local.retention.bytes',
  'flush.messages': 'log.flush.interval.messages',
  'flush.ms': 'log.flush.interval.ms',
  'max.message.bytes': 'message.max.bytes',
  'index.interval.bytes': 'log.index.interval.bytes',
  'cleanup.policy': 'log.cleanup.policy',
  'message.timestamp.before.max.ms': 'log.message.timestamp.before.max.ms',
  'message.timestamp.after.max.ms': 'log.message.timestamp.after.max.ms',
};

export interface ConfigSynonym {
  name: string;
  value: string | null;
  source: number;
}

export interface ConfigEntry {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  configSource: number;
  isSensitive: boolean;
  synonyms: ConfigSynonym[];
  configType: number;
  documentation: string | null;
}

function typeOf(name: string, value: unknown): number {
  if (LIST_TOPIC_CONFIGS.has(name)) return ConfigType.LIST;
  if (value === 'true' || value === 'false' || typeof value === 'boolean') return ConfigType.BOOLEAN;
  if (typeof value === 'number') return ConfigType.LONG;
  return ConfigType.STRING;
}

/** Whether `name` passes a request's configuration_keys (null: every key). */
function wanted(keys: readonly string[] | null, name: string): boolean {
  return keys === null || keys.includes(name);
}

/** Every config of `topic` (those of `keys` when given), with synonyms when asked. */
export function topicConfigEntries(topic: Topic, defaults: BrokerConfig['topicDefaults']['configs'], keys: readonly string[] | null, includeSynonyms: boolean): ConfigEntry[] {
  const overrides = topic.meta.configs as Readonly<Record<string, unknown>>;
  const defaultsByKey = defaults as unknown as Readonly<Record<string, unknown>>;
  const out: ConfigEntry[] = [];
  for (const [name, value] of Object.entries(topic.configs)) {
    if (!wanted(keys, name)) continue;
    const overridden = Object.prototype.hasOwnProperty.call(overrides, name);
    const fallback = defaultsByKey[name];
    const synonyms: ConfigSynonym[] = [];
    if (includeSynonyms) {
      if (overridden) synonyms.push({ name, value: String(value), source: ConfigSource.DYNAMIC_TOPIC_CONFIG });
      synonyms.push({ name: BROKER_SYNONYM[name] ?? name, value: fallback === undefined ? null : String(fallback), source: ConfigSource.DEFAULT_CONFIG });
    }
    out.push({
      name,
      value: String(value),
      readOnly: false,
      isDefault: !overridden,
      configSource: overridden ? ConfigSource.DYNAMIC_TOPIC_CONFIG : ConfigSource.DEFAULT_CONFIG,
      isSensitive: false,
      synonyms,
      configType: typeOf(name, value),
      documentation: null,
    });
  }
  return out;
}

/** The broker's settings a Kafka client may want to see, by Kafka's names; all read-only. */
export function brokerConfigEntries(config: BrokerConfig, keys: readonly string[] | null, includeSynonyms: boolean): ConfigEntry[] {
  const settings: Array<[string, string | number | boolean]> = [
    ['broker.id', nodeIdOf(config.brokerId)],
    ['num.partitions', config.topicDefaults.partitions],
    ['default.replication.factor', config.topicDefaults.replicationFactor],
    ['auto.create.topics.enable', config.kafka.autoCreateTopics],
    ['socket.request.max.bytes', config.kafka.maxRequestBytes],
    ['max.connections', config.kafka.maxConnections],
    ['max.connections.per.ip', config.kafka.maxConnectionsPerAddress],
    ['connections.max.idle.ms', config.kafka.connectionsMaxIdleMs],
    ['group.initial.rebalance.delay.ms', config.kafka.groups.initialRebalanceDelayMs],
    ['group.min.session.timeout.ms', config.kafka.groups.minSessionTimeoutMs],
    ['group.max.session.timeout.ms', config.kafka.groups.maxSessionTimeoutMs],
  ];
  for (const [name, value] of Object.entries(config.topicDefaults.configs)) settings.push([BROKER_SYNONYM[name] ?? name, value as string | number]);
  return settings
    .filter(([name]) => wanted(keys, name))
    .map(([name, raw]) => {
      const value = String(raw);
      return {
        name,
        value,
        readOnly: true,
        isDefault: false,
        configSource: ConfigSource.STATIC_BROKER_CONFIG,
        isSensitive: false,
        synonyms: includeSynonyms ? [{ name, value, source: ConfigSource.STATIC_BROKER_CONFIG }] : [],
        configType: typeOf(name, raw),
        documentation: null,
      };
    });
}
