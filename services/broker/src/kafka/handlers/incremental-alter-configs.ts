// IncrementalAlterConfigs (key 44), v0-1: per resource, all or nothing, with its own error.
// - a topic: SET (a value) and DELETE (back to the broker default) become one change through the
//   topics core, checked by the same validation as HTTP's PATCH /v1/topics/{topic}/configs
//   (INVALID_CONFIG naming every problem); APPEND and SUBTRACT apply to list configs only
//   (cleanup.policy), as in Kafka, and are INVALID_REQUEST for any other; a key named twice, or
//   SET without a value, is INVALID_REQUEST. validate_only checks and changes nothing.
// - a broker: refused (INVALID_REQUEST): its settings are STRATA_* settings read at start.
// - any other resource type: INVALID_REQUEST.

import { AlterConfigOp, ApiKey, ConfigResourceType, KafkaError } from '@strata/kafka-protocol';
import { toStrataError } from '../../core/errors.js';
import { LIST_TOPIC_CONFIGS } from './config-entries.js';
import { countError, decodeBody, errorCode, respond, type HandlerDeps, type KafkaHandler, originOf } from './context.js';

const API = 'IncrementalAlterConfigs';

interface Op {
  name: string;
  configOperation: number;
  value: string | null;
}

/** A comma-separated list as Kafka's list configs travel. */
function listOf(value: unknown): string[] {
  return String(value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** The change `{key: value | null}` the ops make to `current` (effective configs), or the reason they are refused. */
function changesOf(ops: readonly Op[], current: Readonly<Record<string, unknown>>): Record<string, unknown> | string {
  const changes: Record<string, unknown> = {};
  const seen = new Set<string>();
  for (const op of ops) {
    if (seen.has(op.name)) return `config "${op.name}" is named more than once`;
    seen.add(op.name);
    switch (op.configOperation) {
      case AlterConfigOp.SET:
        if (op.value === null) return `SET of "${op.name}" has no value (DELETE resets a config)`;
        changes[op.name] = op.value;
        break;
      case AlterConfigOp.DELETE:
        changes[op.name] = null;
        break;
      case AlterConfigOp.APPEND:
      case AlterConfigOp.SUBTRACT: {
        const verb = op.configOperation === AlterConfigOp.APPEND ? 'APPEND' : 'SUBTRACT';
        if (!LIST_TOPIC_CONFIGS.has(op.name)) return `${verb} applies to list configs only (${[...LIST_TOPIC_CONFIGS].join(', ')}), not to "${op.name}"`;
        const list = listOf(current[op.name]);
        const given = listOf(op.value);
        const next = verb === 'APPEND' ? [...list, ...given.filter((v) => !list.includes(v))] : list.filter((v) => !given.includes(v));
        changes[op.name] = next.join(',');
        break;
      }
      default:
        return `unknown config operation ${op.configOperation} for "${op.name}"`;
    }
  }
  return changes;
}

export function incrementalAlterConfigsHandler(deps: HandlerDeps): KafkaHandler {
  const { ctx, topics } = deps;
  return async (request) => {
    const body = decodeBody(ApiKey.IncrementalAlterConfigs, request);
    if (body.resources.some((r) => r.resourceType === ConfigResourceType.TOPIC && !ctx.registry.has(r.resourceName))) {
      await ctx.cluster.node.syncTopics().catch(() => undefined);
    }
    const responses = [];
    for (const r of body.resources) {
      const answer = (code: number, message: string | null) => ({ errorCode: code, errorMessage: message, resourceType: r.resourceType, resourceName: r.resourceName });
      const refuse = (message: string) => answer(countError(deps, API, KafkaError.INVALID_REQUEST), message);
      if (r.resourceType === ConfigResourceType.BROKER) {
        responses.push(refuse('broker settings are STRATA_* settings read at start: they cannot be changed over the Kafka protocol'));
        continue;
      }
      if (r.resourceType !== ConfigResourceType.TOPIC) {
        responses.push(refuse(`resource type ${r.resourceType} is not supported (topics ${ConfigResourceType.TOPIC} are)`));
        continue;
      }
      try {
        const topic = ctx.registry.get(r.resourceName);
        const changes = changesOf(r.configs, topic.configs as unknown as Readonly<Record<string, unknown>>);
        if (typeof changes === 'string') {
          responses.push(refuse(changes));
          continue;
        }
        await topics.updateConfigs(r.resourceName, changes, body.validateOnly, originOf(request));
        responses.push(answer(KafkaError.NONE, null));
      } catch (e) {
        const { error, unexpected } = toStrataError(e);
        if (unexpected) ctx.logger.error('kafka incremental alter configs failed', { topic: r.resourceName, err: e });
        responses.push(answer(errorCode(deps, API, error), error.message));
      }
    }
    return respond(ApiKey.IncrementalAlterConfigs, request, { throttleTimeMs: 0, responses });
  };
}
