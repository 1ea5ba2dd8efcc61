import { describe, expect, it } from 'vitest';
import { collisionKey, groupIdProblem, isValidTopicName, topicNameProblem, TOPIC_NAME_LENGTH_MAX } from '../src/index.js';

describe('the name rule (topic names and group ids, one copy for every layer)', () => {
  it('accepts Kafka names up to 249 characters', () => {
    for (const name of ['a', 'orders.v2', 'A-b_c.9', '...', 'x'.repeat(TOPIC_NAME_LENGTH_MAX), '__proto__']) {
      expect(topicNameProblem(name), name).toBeNull();
      expect(groupIdProblem(name), name).toBeNull();
      expect(isValidTopicName(name)).toBe(true);
    }
  });

  it('refuses every other value with a reason that reads after the field name', () => {
    const cases: Array<[unknown, RegExp]> = [
      ['', /^must be 1\.\.249 characters, got 0$/],
      ['x'.repeat(250), /^must be 1\.\.249 characters, got 250$/],
      ['.', /^must not be "\."$/],
      ['..', /^must not be "\.\."$/],
      ['a/b', /may contain only ASCII letters, digits/],
      ['ünï', /may contain only ASCII letters, digits/],
      ['a b', /may contain only ASCII letters, digits/],
      [42, /^must be a string, got 42$/],
      [undefined, /^must be a string, got nothing$/],
      [null, /^must be a string, got null$/],
    ];
    for (const [value, reason] of cases) {
      expect(topicNameProblem(value), String(value)).toMatch(reason);
      expect(groupIdProblem(value), String(value)).toMatch(reason);
      expect(isValidTopicName(value)).toBe(false);
    }
  });

  it('maps names that differ only by "." and "_" to one collision key', () => {
    expect(collisionKey('a.b')).toBe(collisionKey('a_b'));
    expect(collisionKey('a.b')).not.toBe(collisionKey('a-b'));
  });
});
