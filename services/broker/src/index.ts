// @strata/broker: the broker (docs/architecture.md#layers); a single node is a cluster of one.

export { startBroker } from './broker.js';
export type { Broker, BrokerDependencies } from './broker.js';
export {
  DEFAULTS,
  DEFAULT_TOPIC_CONFIGS,
  FETCH_DEFAULT_MAX_BYTES,
  FETCH_DEFAULT_MAX_RECORDS,
  NOT_IN_THIS_BUILD,
  describeConfig,
  flagName,
  knownSettings,
  loadConfig,
  topicDefaultEnvName,
} from './config.js';
export type { BrokerConfig, TopicDefaults } from './config.js';
export type { BrokerState } from './context.js';
export { DataCore } from './core/data.js';
export type { OffsetLookup, PartitionBatches, PartitionFetchResult, PartitionProduceResult, PartitionRead, ProduceRequest } from './core/data.js';
export type { ForwardedReply, LeaderClient, RequestOrigin } from './core/leader-client.js';
export { createLogger, isLogLevel, LOG_LEVELS } from './logger.js';
export type { LogFields, LogLevel, Logger, LoggerOptions } from './logger.js';
export { HTTP_STATUS_BY_CODE, errorBody } from './http/errors.js';
export type { ErrorBody } from './http/errors.js';
export { RECORD_BATCH_MEDIA_TYPE } from './http/body.js';
export { ROUTES } from './http/routes.js';
export type { RouteId } from './http/routes.js';
export { buildOpenApiDocument } from './http/openapi.js';
export { rendezvousReplicas } from './cluster/rendezvous.js';
export type { MetadataStore, TopicMetadata } from './topics/metadata-store.js';
export { TOPIC_CONFIG_KEYS, TOPIC_CONFIG_SPECS } from './topics/topic-config.js';
export type { TopicConfigKey, TopicConfigOverrides, TopicConfigs } from './topics/topic-config.js';
