// The names users choose: topic names and group ids. One rule (Kafka's), written once here and
// imported by every layer that checks a name: the broker's topic registry, both coordinator
// engines (coord/validate.ts), the object keys (storage/keys.ts), the client and the CLI.
//
// The alphabet [a-zA-Z0-9._-] is what makes a name safe as one path component, one object-key
// segment and one Redis hash tag; "." and ".." are refused because they are path segments of
// their own. file-names.ts relies on '~' being outside this alphabet.

/** Kafka's limit on a topic name, in characters (ASCII only, so also bytes). */
export const TOPIC_NAME_LENGTH_MAX = 249;
/** The limit on a group id, in characters: the same as a topic name's. */
export const GROUP_ID_LENGTH_MAX = 249;

const NAME_ALPHABET = /^[a-zA-Z0-9._-]+$/;

/** A short, bounded description of any value for an error message. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/** Why `value` breaks the name rule (phrased to follow the field's name), or null when it keeps it. */
function nameProblem(value: unknown, lengthMax: number): string | null {
  if (typeof value !== 'string') return `must be a string, got ${describeValue(value)}`;
  if (value.length === 0 || value.length > lengthMax) return `must be 1..${lengthMax} characters, got ${value.length}`;
  if (value === '.' || value === '..') return `must not be "${value}"`;
  if (!NAME_ALPHABET.test(value)) return `${describeValue(value)} may contain only ASCII letters, digits, ".", "_" and "-"`;
  return null;
}

/**
 * Kafka's rule for a topic name: 1..249 of [a-zA-Z0-9._-], not "." or "..". The problem, to be
 * read after the field's name (`topic name must be 1..249 characters, got 250`), or null.
 */
export function topicNameProblem(name: unknown): string | null {
  return nameProblem(name, TOPIC_NAME_LENGTH_MAX);
}

/** The same rule for a group id: 1..249 of [a-zA-Z0-9._-], not "." or "..". */
export function groupIdProblem(group: unknown): string | null {
  return nameProblem(group, GROUP_ID_LENGTH_MAX);
}

/** Kafka refuses two topic names that differ only by "." vs "_" (they collide in metric names): equal keys collide. */
export function collisionKey(name: string): string {
  return name.replaceAll('.', '_');
}

export function isValidTopicName(name: unknown): name is string {
  return topicNameProblem(name) === null;
}
