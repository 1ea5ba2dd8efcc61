// Errors worth a person's attention, in the cluster events feed: every line a broker logs at
// `error` is also recorded as an `error` event. Only the line's message and the partition it names
// go in, plus an error's message with secrets and server paths removed (redact.ts): never the
// line's other fields, which may hold a request's details.

import type { LogFields, Logger } from '../logger.js';
import { publicMessage } from '../redact.js';
import type { EventLog } from './event-log.js';

/** `logger`, whose error lines (its children's too) are also recorded in `events`. */
export function recordingErrors(logger: Logger, events: EventLog): Logger {
  const record = (msg: string, fields?: LogFields): void => {
    const err = fields?.err;
    const why = err instanceof Error ? `: ${publicMessage(err.message)}` : '';
    const topic = typeof fields?.topic === 'string' ? fields.topic : undefined;
    const partition = typeof fields?.partition === 'number' ? fields.partition : undefined;
    events.record({ kind: 'error', message: `${msg}${why}`, ...(topic === undefined ? {} : { topic }), ...(partition === undefined ? {} : { partition }) });
  };
  return {
    debug: (msg, fields) => logger.debug(msg, fields),
    info: (msg, fields) => logger.info(msg, fields),
    warn: (msg, fields) => logger.warn(msg, fields),
    error: (msg, fields) => {
      record(msg, fields);
      logger.error(msg, fields);
    },
    child: (fields) => recordingErrors(logger.child(fields), events),
    isEnabled: (level) => logger.isEnabled(level),
  };
}
