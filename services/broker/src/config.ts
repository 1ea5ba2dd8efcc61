// The broker's configuration: every named default in one place (config/settings.ts), read from the
// environment and from flags (config/load.ts), validated once with every problem reported
// together, and described as one structured log line at start (config/describe.ts).

export {
  CLUSTER_SECRET_MIN_CHARS,
  DEFAULTS,
  DEFAULT_TOPIC_CONFIGS,
  FETCH_DEFAULT_MAX_BYTES,
  FETCH_DEFAULT_MAX_RECORDS,
  JSON_MAX_DEPTH,
  KAFKA_METADATA_MODES,
  NOT_IN_THIS_BUILD,
  flagName,
  knownSettings,
  topicDefaultEnvName,
  type KafkaMetadataMode,
} from './config/settings.js';
export { loadConfig } from './config/load.js';
export { describeConfig, redactUrl } from './config/describe.js';
export type { AuthConfig, SaslMechanism } from './config/types.js';
export { SASL_MECHANISMS } from './config/types.js';
export type { BrokerConfig, ClusterConfig, GroupsConfig, KafkaConfig, ObjectStoreConfig, QuotasConfig, TieringConfig, TlsConfig, TopicDefaults } from './config/types.js';
