import { describe, expect, it } from 'vitest';
import { isStrataError } from '@strata/protocol';
import { DEFAULT_TOPIC_CONFIGS, DEFAULTS, describeConfig, flagName, knownSettings, loadConfig, topicDefaultEnvName } from '@strata/broker';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (isStrataError(e) && e.code === 'INVALID_CONFIG') return e.details!.problems as string[];
    throw e;
  }
  throw new Error('expected INVALID_CONFIG');
}

describe('loadConfig', () => {
  it('has named defaults', () => {
    const c = loadConfig({}, []);
    expect(c.httpPort).toBe(8080);
    expect(c.host).toBe('0.0.0.0');
    expect(c.dataDir.endsWith('/data')).toBe(true);
    expect(c.brokerId).toBe('0');
    expect(c.advertisedUrl).toBe('');
    expect(c.logLevel).toBe('info');
    // One replica without Redis (no peer can exist); Kafka's recommended 3 with Redis, kept while fewer brokers are live.
    expect(c.topicDefaults).toEqual({ partitions: 1, replicationFactor: 1, configs: DEFAULT_TOPIC_CONFIGS });
    expect(loadConfig({ STRATA_REDIS_URL: 'redis://127.0.0.1:1', STRATA_CLUSTER_SECRET: 'a-test-secret-of-some-length' }, []).topicDefaults.replicationFactor).toBe(3);
    expect(c.maxRequestBytes).toBe(DEFAULTS.maxRequestBytes);
    expect(c.notInThisBuild).toEqual([]);
  });

  it('reads the environment, and flags win', () => {
    const c = loadConfig(
      {
        STRATA_HTTP_PORT: '9000',
        STRATA_DATA_DIR: '/tmp/x',
        STRATA_DEFAULT_SEGMENT_BYTES: '1048576',
        STRATA_DEFAULT_RETENTION_MS: '-1',
        STRATA_DEFAULT_PARTITIONS: '6',
        STRATA_LOG_LEVEL: 'warn',
        STRATA_ADVERTISED_URL: 'http://broker-1:9000/',
      },
      ['--http-port', '8081', '--data-dir=/tmp/y', '--default-segment-bytes', '2097152', '--default-retention-bytes', '-1'],
    );
    expect(c.httpPort).toBe(8081);
    expect(c.dataDir).toBe('/tmp/y');
    expect(c.topicDefaults.configs['segment.bytes']).toBe(2_097_152);
    expect(c.topicDefaults.configs['retention.ms']).toBe(-1);
    expect(c.topicDefaults.configs['retention.bytes']).toBe(-1);
    expect(c.topicDefaults.partitions).toBe(6);
    expect(c.logLevel).toBe('warn');
    expect(c.advertisedUrl).toBe('http://broker-1:9000');
  });

  it('takes the authorization settings; refuses bad values, and the acl-only ones set without STRATA_AUTHORIZER=acl', () => {
    expect(loadConfig({}, []).authorization).toEqual({ authorizer: 'none', superUsers: [], allowEveryoneIfNoAclFound: false, refreshIntervalMs: 1_000 });
    const c = loadConfig({ STRATA_AUTHORIZER: 'acl', STRATA_SUPER_USERS: 'User:admin; User:CN=ops,O=acme', STRATA_ALLOW_EVERYONE_IF_NO_ACL_FOUND: 'true', STRATA_ACL_REFRESH_INTERVAL_MS: '250' }, []);
    expect(c.authorization).toEqual({ authorizer: 'acl', superUsers: ['User:admin', 'User:CN=ops,O=acme'], allowEveryoneIfNoAclFound: true, refreshIntervalMs: 250 });
    const problems = problemsOf(() => loadConfig({ STRATA_AUTHORIZER: 'simple', STRATA_SUPER_USERS: 'admin', STRATA_ALLOW_EVERYONE_IF_NO_ACL_FOUND: 'yes' }, []));
    expect(problems.join('\n')).toContain('STRATA_AUTHORIZER must be none or acl');
    expect(problems.join('\n')).toContain('STRATA_SUPER_USERS: principal must be <type>:<name>');
    expect(problems.join('\n')).toContain('STRATA_ALLOW_EVERYONE_IF_NO_ACL_FOUND must be true or false');
    // Accepted and ignored would be a lie.
    expect(problemsOf(() => loadConfig({ STRATA_SUPER_USERS: 'User:admin' }, []))).toEqual(['STRATA_SUPER_USERS: set, but STRATA_AUTHORIZER is not acl (nothing is checked)']);
  });

  it('binds broker certificates to broker ids by CN unless told otherwise; refuses another rule, and a rule without mTLS', () => {
    expect(loadConfig({}, []).cluster.internalCertBinding).toBe('cn');
    const mtls = { STRATA_TLS_CERT_FILE: '/etc/strata/broker.crt', STRATA_TLS_KEY_FILE: '/etc/strata/broker.key', STRATA_TLS_CLIENT_CA_FILE: '/etc/strata/ca.crt' };
    expect(loadConfig({ ...mtls, STRATA_INTERNAL_CERT_BINDING: 'dns-san' }, []).cluster.internalCertBinding).toBe('dns-san');
    expect(problemsOf(() => loadConfig({ ...mtls, STRATA_INTERNAL_CERT_BINDING: 'subject' }, []))).toEqual(['STRATA_INTERNAL_CERT_BINDING must be one of cn, dns-san, none, got "subject"']);
    expect(problemsOf(() => loadConfig({ STRATA_INTERNAL_CERT_BINDING: 'none' }, []))).toEqual([
      'STRATA_INTERNAL_CERT_BINDING: set, but STRATA_TLS_CLIENT_CA_FILE is not (without mTLS there is no broker certificate to bind)',
    ]);
  });

  it('has a flag for every setting', () => {
    expect(flagName('STRATA_HTTP_PORT')).toBe('--http-port');
    expect(topicDefaultEnvName('min.insync.replicas')).toBe('STRATA_DEFAULT_MIN_INSYNC_REPLICAS');
    for (const name of knownSettings()) expect(flagName(name)).toMatch(/^--[a-z0-9-]+$/);
  });

  it('reports every problem together', () => {
    const problems = problemsOf(() =>
      loadConfig(
        {
          STRATA_HTTP_PORT: 'eighty',
          STRATA_LOG_LEVEL: 'chatty',
          STRATA_DEFAULT_SEGMENT_BYTES: '5',
          STRATA_DEFAULT_CLEANUP_POLICY: 'compact',
          STRATA_DEFAULT_RETENTON_MS: '5',
          STRATA_BROKER_ID: 'has space',
          STRATA_ADVERTISED_URL: 'ftp://x',
        },
        ['--bogus', '1', '--max-partitions'],
      ),
    );
    const text = problems.join('\n');
    expect(problems.length).toBe(9);
    for (const needle of [
      'STRATA_HTTP_PORT',
      'STRATA_LOG_LEVEL',
      'STRATA_DEFAULT_SEGMENT_BYTES',
      'not supported yet',
      'STRATA_DEFAULT_RETENTON_MS: unknown setting',
      'STRATA_BROKER_ID',
      'STRATA_ADVERTISED_URL',
      '--bogus: unknown flag',
      '--max-partitions: missing value',
    ]) {
      expect(text).toContain(needle);
    }
  });

  it('bounds descriptors, segment sizes and free disk space with named settings (issue #10)', () => {
    const c = loadConfig({}, []);
    expect(c.maxOpenSegmentFiles).toBe(DEFAULTS.maxOpenSegmentFiles);
    expect(c.minSegmentBytes).toBe(1024 * 1024);
    expect(c.logOpenCloseConcurrency).toBe(DEFAULTS.logOpenCloseConcurrency);
    expect(c.minFreeDiskBytes).toBe(DEFAULTS.minFreeDiskBytes);
    const set = loadConfig({ STRATA_MAX_OPEN_SEGMENT_FILES: '64', STRATA_MIN_SEGMENT_BYTES: '1024', STRATA_MIN_FREE_DISK_BYTES: '0' }, ['--disk-check-interval-ms', '50']);
    expect([set.maxOpenSegmentFiles, set.minSegmentBytes, set.minFreeDiskBytes, set.diskCheckIntervalMs]).toEqual([64, 1024, 0, 50]);
    // A default segment.bytes below the floor is refused at start, as it is on a topic.
    expect(problemsOf(() => loadConfig({ STRATA_DEFAULT_SEGMENT_BYTES: '65536' }, [])).join('\n')).toMatch(/segment\.bytes \(65536\) must be at least 1048576 \(STRATA_MIN_SEGMENT_BYTES\)/);
    expect(loadConfig({ STRATA_DEFAULT_SEGMENT_BYTES: '65536', STRATA_MIN_SEGMENT_BYTES: '65536' }, []).topicDefaults.configs['segment.bytes']).toBe(65536);
    expect(problemsOf(() => loadConfig({ STRATA_MAX_OPEN_SEGMENT_FILES: '1' }, [])).join('\n')).toMatch(/STRATA_MAX_OPEN_SEGMENT_FILES/);
  });

  it('bounds one write of a partition\'s queued appends (issue #16)', () => {
    expect(loadConfig({}, []).tiering.appendGroupBytesMax).toBe(4 * 1024 * 1024);
    expect(loadConfig({ STRATA_APPEND_GROUP_BYTES_MAX: '0' }, []).tiering.appendGroupBytesMax).toBe(0);
    expect(problemsOf(() => loadConfig({ STRATA_APPEND_GROUP_BYTES_MAX: '-1' }, [])).join('\n')).toMatch(/STRATA_APPEND_GROUP_BYTES_MAX/);
  });

  it('takes the in-process offsets log settings, and refuses them beside Redis, which keeps the offsets there', () => {
    const c = loadConfig({}, []);
    expect([c.groups.offsetsFlushIntervalMs, c.groups.offsetsLogRollBytes]).toEqual([1_000, 16 * 1024 * 1024]);
    const set = loadConfig({ STRATA_OFFSETS_FLUSH_INTERVAL_MS: '0' }, ['--offsets-log-roll-bytes', '65536']);
    expect([set.groups.offsetsFlushIntervalMs, set.groups.offsetsLogRollBytes]).toEqual([0, 65_536]);
    expect(problemsOf(() => loadConfig({ STRATA_OFFSETS_FLUSH_INTERVAL_MS: '60001', STRATA_OFFSETS_LOG_ROLL_BYTES: '1024' }, [])).join('\n')).toMatch(
      /STRATA_OFFSETS_FLUSH_INTERVAL_MS.*\n.*STRATA_OFFSETS_LOG_ROLL_BYTES/,
    );
    const clustered = { STRATA_REDIS_URL: 'redis://r', STRATA_CLUSTER_SECRET: 'a-secret-of-16-chars' };
    expect(problemsOf(() => loadConfig({ ...clustered, STRATA_OFFSETS_FLUSH_INTERVAL_MS: '0' }, [])).join()).toMatch(/STRATA_OFFSETS_FLUSH_INTERVAL_MS: set, but offsets live in Redis/);
    expect(loadConfig(clustered, []).groups.offsetsFlushIntervalMs).toBe(1_000);
  });

  it('checks fields against each other', () => {
    // Issue 15: `--http-port 9092` (the CLI's own example) clashed with the Kafka listener's default.
    expect(problemsOf(() => loadConfig({ STRATA_HTTP_PORT: '9092' }, [])).join()).toContain('STRATA_HTTP_PORT and STRATA_KAFKA_PORT are both 9092');
    expect(problemsOf(() => loadConfig({ STRATA_INTERNAL_PORT: '8080' }, [])).join()).toContain('STRATA_HTTP_PORT and STRATA_INTERNAL_PORT are both 8080');
    expect(loadConfig({ STRATA_HTTP_PORT: '0', STRATA_KAFKA_PORT: '0' }, []).httpPort).toBe(0);
    expect(problemsOf(() => loadConfig({ STRATA_DEFAULT_MIN_INSYNC_REPLICAS: '4' }, [])).join()).toContain('replication factor');
    expect(problemsOf(() => loadConfig({ STRATA_DEFAULT_MIN_INSYNC_REPLICAS: '2', STRATA_DEFAULT_REPLICATION_FACTOR: '1' }, [])).join()).toContain('replication factor');
    expect(problemsOf(() => loadConfig({ STRATA_DEFAULT_PARTITIONS: '50', STRATA_MAX_PARTITIONS: '10' }, [])).join()).toContain('STRATA_MAX_PARTITIONS');
    expect(problemsOf(() => loadConfig({ STRATA_MAX_REQUEST_BYTES: '4096' }, [])).join()).toContain('max.message.bytes');
  });

  it('takes the connection and body limits, and checks that they nest (issue #10, item 4)', () => {
    const c = loadConfig({ STRATA_MAX_CONNECTIONS_PER_ADDRESS: '0', STRATA_BODY_IDLE_TIMEOUT_MS: '2000' }, ['--body-bytes-in-flight', String(512 * 1024 * 1024)]);
    expect(c).toMatchObject({ maxConnectionsPerAddress: 0, bodyIdleTimeoutMs: 2000, bodyBytesInFlight: 512 * 1024 * 1024 });
    expect(loadConfig({}, [])).toMatchObject({
      maxConnectionsPerAddress: DEFAULTS.maxConnectionsPerAddress,
      bodyBytesInFlightPerConnection: DEFAULTS.bodyBytesInFlightPerConnection,
      bodyBytesInFlightPerAddress: DEFAULTS.bodyBytesInFlightPerAddress,
      headersTimeoutMs: DEFAULTS.headersTimeoutMs,
      requestTimeoutMs: DEFAULTS.requestTimeoutMs,
      keepAliveTimeoutMs: DEFAULTS.keepAliveTimeoutMs,
      jsonProduceMaxRecords: DEFAULTS.jsonProduceMaxRecords,
    });
    // Far below Node's 300 s.
    expect(DEFAULTS.bodyIdleTimeoutMs).toBeLessThanOrEqual(30_000);
    expect(problemsOf(() => loadConfig({ STRATA_BODY_BYTES_IN_FLIGHT_PER_CONNECTION: '1048576' }, [])).join()).toContain('at least STRATA_MAX_REQUEST_BYTES');
    expect(problemsOf(() => loadConfig({ STRATA_BODY_BYTES_IN_FLIGHT_PER_ADDRESS: String(16 * 1024 * 1024) }, [])).join()).toContain('at least STRATA_BODY_BYTES_IN_FLIGHT_PER_CONNECTION');
    expect(problemsOf(() => loadConfig({ STRATA_BODY_BYTES_IN_FLIGHT: String(32 * 1024 * 1024) }, [])).join()).toContain('at least STRATA_BODY_BYTES_IN_FLIGHT_PER_ADDRESS');
    expect(problemsOf(() => loadConfig({ STRATA_HEADERS_TIMEOUT_MS: '30000', STRATA_REQUEST_TIMEOUT_MS: '10000' }, [])).join()).toContain('STRATA_HEADERS_TIMEOUT_MS');
  });

  it('takes the replication settings in a cluster, never prints the secret, and refuses a cluster without one', () => {
    const env = { STRATA_REDIS_URL: 'redis://redis:6379', STRATA_BROKER_ID: 'b1' };
    const c = loadConfig(env, ['--cluster-secret', 's3cr3t-s3cr3t-s3cr3t', '--internal-port', '0']);
    expect(c.cluster).toMatchObject({ internalPort: 0, clusterSecret: 's3cr3t-s3cr3t-s3cr3t', replicaLagTimeMaxMs: 30_000 });
    expect(c.topicDefaults.replicationFactor).toBe(3);
    expect(JSON.stringify(describeConfig(c))).not.toContain('s3cr3t');
    expect(problemsOf(() => loadConfig(env, [])).join()).toContain('STRATA_CLUSTER_SECRET');
    // Without Redis the internal listener is on loopback, on an ephemeral port unless one is set, with a random secret unless one is set.
    const single = loadConfig({}, []);
    expect(single.cluster).toMatchObject({ redisUrl: '', internalPort: 0, internalHost: '127.0.0.1' });
    // Leases only this process can hold: long by default (no failover waits on them), as set when set.
    expect([single.cluster.leaseTtlMs, c.cluster.leaseTtlMs, loadConfig({ STRATA_LEASE_TTL_MS: '2000' }, []).cluster.leaseTtlMs]).toEqual([30_000, 6_000, 2_000]);
    expect(single.cluster.clusterSecret.length).toBeGreaterThanOrEqual(16);
    expect(loadConfig({}, []).cluster.clusterSecret).not.toBe(single.cluster.clusterSecret);
    expect(loadConfig({ STRATA_INTERNAL_PORT: '9999' }, []).cluster.internalPort).toBe(9999);
    expect(problemsOf(() => loadConfig({}, ['--cluster-secret', 'whatever'])).join()).toContain('STRATA_CLUSTER_SECRET');
  });

  it('runs clustered when STRATA_REDIS_URL is set, and never prints its password', () => {
    expect(loadConfig({}, []).cluster.redisUrl).toBe('');
    const c = loadConfig({ STRATA_REDIS_URL: 'redis://:hunter2@redis:6379/0', STRATA_BROKER_ID: 'b1', STRATA_LEASE_TTL_MS: '3000', STRATA_CLUSTER_SECRET: 'a-secret-of-16-chars' }, []);
    expect(c.cluster).toMatchObject({ redisUrl: 'redis://:hunter2@redis:6379/0', redisPrefix: 'strata:', leaseTtlMs: 3000 });
    expect(JSON.stringify(describeConfig(c))).not.toContain('hunter2');
    // Without an explicit id each broker is named after its host (unique per pod or container).
    expect(loadConfig({ STRATA_REDIS_URL: 'redis://r', STRATA_CLUSTER_SECRET: 'a-secret-of-16-chars' }, []).brokerId).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
    expect(problemsOf(() => loadConfig({ STRATA_REDIS_URL: 'http://r' }, [])).join()).toContain('STRATA_REDIS_URL');
    expect(problemsOf(() => loadConfig({ STRATA_REDIS_URL: 'redis://r', STRATA_LEASE_TTL_MS: '1000', STRATA_CLUSTER_TICK_MS: '500' }, [])).join()).toContain(
      'STRATA_CLUSTER_TICK_MS',
    );
    expect(problemsOf(() => loadConfig({ STRATA_REDIS_URL: 'redis://r', STRATA_REDIS_PREFIX: 'a b{' }, [])).join()).toContain('STRATA_REDIS_PREFIX');
  });

  it('puts objects in a local directory by default and in S3 when a bucket is named', () => {
    expect(loadConfig({ STRATA_DATA_DIR: '/d' }, []).objectStore).toEqual({ kind: 'local', dir: '/d/__strata/objects' });
    const s3 = loadConfig({ STRATA_S3_BUCKET: 'strata', STRATA_S3_ENDPOINT: 'http://127.0.0.1:9000', STRATA_S3_FORCE_PATH_STYLE: 'true' }, ['--s3-prefix', 'prod']);
    expect(s3.objectStore).toEqual({ kind: 's3', bucket: 'strata', prefix: 'prod', endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', forcePathStyle: true, caFile: '' });
    expect(() => loadConfig({ STRATA_S3_BUCKET: 'B!', STRATA_S3_FORCE_PATH_STYLE: 'maybe', STRATA_REMOTE_CACHE_BYTES: '4194304' }, [])).toThrow(
      /STRATA_S3_BUCKET.*STRATA_S3_FORCE_PATH_STYLE.*STRATA_REMOTE_CACHE_BYTES/,
    );
  });

  it('reads the Kafka listener settings (issue #12): defaults, overrides, and bad values refused together', () => {
    expect(loadConfig({}, []).kafka).toEqual({
      port: 9092,
      advertisedAddress: '',
      metadataMode: 'brokers',
      autoCreateTopics: false,
      maxRequestBytes: DEFAULTS.kafkaMaxRequestBytes,
      maxInFlightPerConnection: DEFAULTS.kafkaMaxInFlightPerConnection,
      requestBytesInFlight: DEFAULTS.kafkaRequestBytesInFlight,
      maxConnections: DEFAULTS.kafkaMaxConnections,
      maxConnectionsPerAddress: DEFAULTS.kafkaMaxConnectionsPerAddress,
      connectionsMaxIdleMs: DEFAULTS.kafkaConnectionsMaxIdleMs,
      scramUsersPerRequestMax: DEFAULTS.kafkaScramUsersPerRequestMax,
      groupSessionTimeoutMs: 45_000,
      groups: {
        initialRebalanceDelayMs: 3_000,
        minSessionTimeoutMs: 6_000,
        maxSessionTimeoutMs: 1_800_000,
        protocolsMax: DEFAULTS.kafkaGroupProtocolsMax,
        memberMetadataMaxBytes: DEFAULTS.kafkaGroupMemberMetadataMaxBytes,
        assignmentMaxBytes: DEFAULTS.kafkaGroupAssignmentMaxBytes,
        takeoverIntervalMs: DEFAULTS.kafkaGroupTakeoverIntervalMs,
      },
    });
    expect(loadConfig({ STRATA_KAFKA_GROUP_SESSION_TIMEOUT_MS: '1500' }, []).kafka.groupSessionTimeoutMs).toBe(1500);
    expect(() => loadConfig({ STRATA_KAFKA_GROUP_SESSION_TIMEOUT_MS: '50' }, [])).toThrow(/STRATA_KAFKA_GROUP_SESSION_TIMEOUT_MS/);
    // Classic groups (issue #13): Kafka's names, and the session bounds checked against each other.
    expect(loadConfig({ STRATA_KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0' }, []).kafka.groups.initialRebalanceDelayMs).toBe(0);
    expect(problemsOf(() => loadConfig({ STRATA_KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS: '60000', STRATA_KAFKA_GROUP_MAX_SESSION_TIMEOUT_MS: '30000' }, []))).toEqual([
      expect.stringMatching(/STRATA_KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS \(60000\) must be at most STRATA_KAFKA_GROUP_MAX_SESSION_TIMEOUT_MS \(30000\)/),
    ]);
    const c = loadConfig(
      { STRATA_KAFKA_PORT: '0', STRATA_KAFKA_ADVERTISED_ADDRESS: 'kafka.example.com:9094', STRATA_KAFKA_METADATA_MODE: 'one-address', STRATA_KAFKA_AUTO_CREATE_TOPICS: 'true' },
      ['--kafka-max-in-flight-per-connection', '4'],
    );
    expect(c.kafka).toMatchObject({ port: 0, advertisedAddress: 'kafka.example.com:9094', metadataMode: 'one-address', autoCreateTopics: true, maxInFlightPerConnection: 4 });
    expect(loadConfig({ STRATA_KAFKA_ADVERTISED_ADDRESS: '[::1]:9092' }, []).kafka.advertisedAddress).toBe('[::1]:9092');
    const problems = problemsOf(() =>
      loadConfig(
        {
          STRATA_KAFKA_PORT: '70000',
          STRATA_KAFKA_ADVERTISED_ADDRESS: 'no-port',
          STRATA_KAFKA_METADATA_MODE: 'gossip',
          STRATA_KAFKA_AUTO_CREATE_TOPICS: 'yes',
          STRATA_KAFKA_MAX_REQUEST_BYTES: String(8 * 1024 * 1024),
          STRATA_KAFKA_REQUEST_BYTES_IN_FLIGHT: String(1024 * 1024),
        },
        [],
      ),
    ).join('\n');
    for (const name of ['STRATA_KAFKA_PORT', 'STRATA_KAFKA_ADVERTISED_ADDRESS', 'STRATA_KAFKA_METADATA_MODE', 'STRATA_KAFKA_AUTO_CREATE_TOPICS', 'STRATA_KAFKA_REQUEST_BYTES_IN_FLIGHT']) {
      expect(problems).toContain(name);
    }
  });

  it('describeConfig is one plain object', () => {
    const d = describeConfig(loadConfig({}, []));
    expect(JSON.parse(JSON.stringify(d))).toEqual(d);
    expect(d).toHaveProperty('topicDefaults.configs.segment\\.bytes');
  });
});
