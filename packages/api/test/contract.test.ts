// The contract written once: the generated OpenAPI document has exactly the route table's
// operations, every $ref in it resolves, every example in it validates against the schema it sits
// on, and a body that does not fit is refused with the code and the field named.

import { describe, expect, it } from 'vitest';
import type { TSchema } from '@sinclair/typebox';
import { API_ROUTES, NAMED_SCHEMAS, PARAMETERS, buildOpenApiDocument, checkBody, pathParams, problemsOf, requestBody, schemaJson } from '../src/index.js';

type Json = Record<string, unknown>;

const doc = buildOpenApiDocument({ serverUrl: 'http://127.0.0.1:1' }) as Json & { paths: Record<string, Json>; components: Json };

function resolve(ref: string): unknown {
  let node: unknown = doc;
  for (const part of ref.replace(/^#\//, '').split('/')) node = (node as Json | undefined)?.[part];
  return node;
}

/**
 * Walks a schema as emitted (doc) beside the TypeBox value it was emitted from (source): the
 * emitter copies the structure, putting a $ref where a named schema is used. Calls `visit` for
 * every node that carries examples, with the source node to check them against.
 */
function walkExamples(docNode: unknown, source: unknown, visit: (examples: unknown[], schema: TSchema, where: string) => void, where: string): void {
  if (docNode === null || typeof docNode !== 'object' || source === null || typeof source !== 'object') return;
  if (Array.isArray(docNode)) {
    docNode.forEach((d, i) => walkExamples(d, (source as unknown[])[i], visit, `${where}/${i}`));
    return;
  }
  if ('$ref' in docNode) return; // the named schema is visited under components.schemas
  for (const [key, value] of Object.entries(docNode)) {
    if (key === 'examples') visit(value as unknown[], source as TSchema, where);
    else if (key !== 'default' && key !== 'const') walkExamples(value, (source as Json)[key], visit, `${where}/${key}`);
  }
}

describe('the OpenAPI document generated from @strata/api', () => {
  it('documents exactly the routes of the table, each once', () => {
    const documented: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of Object.keys(item)) if (method !== 'parameters') documented.push(`${method.toUpperCase()} ${path}`);
    }
    const routes = API_ROUTES.map((r) => `${r.method} ${r.path}`);
    expect(new Set(routes).size).toBe(routes.length);
    expect(documented.sort()).toEqual([...routes].sort());
    const ids = Object.values(doc.paths).flatMap((item) => Object.entries(item).filter(([m]) => m !== 'parameters').map(([, op]) => (op as Json).operationId));
    expect(ids.sort()).toEqual(API_ROUTES.map((r) => r.id).sort());
  });

  it('resolves every $ref, and declares the path parameters of every templated path', () => {
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"(#\/[^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(50);
    for (const ref of refs) expect(resolve(ref), ref).toBeDefined();
    for (const [path, item] of Object.entries(doc.paths)) {
      const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
      const declared = ((item.parameters as Array<{ $ref: string }> | undefined) ?? []).map((p) => (resolve(p.$ref) as Json).name);
      expect(declared.sort(), path).toEqual(names.sort());
    }
  });

  it('declares each path parameter once, with the schema the server checks it against before a handler runs', () => {
    const used = new Set(API_ROUTES.flatMap((r) => [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!)));
    const declared = Object.entries(PARAMETERS).filter(([, spec]) => spec.in === 'path').map(([name]) => name);
    expect([...used].sort()).toEqual(declared.sort());
    for (const name of used) {
      const spec = PARAMETERS[name as keyof typeof PARAMETERS];
      expect((doc.components.parameters as Json)[name], name).toEqual(expect.objectContaining({ name, in: 'path', required: true, schema: schemaJson(spec.schema) }));
      // Its examples (validated against the schema below) pass the server's check, read as what they are.
      const examples = (spec.schema as { examples?: unknown[] }).examples ?? [];
      expect(examples.length, `${name} has an example`).toBeGreaterThan(0);
      for (const example of examples) expect(pathParams({ [name]: String(example) })).toEqual({ [name]: example });
    }
  });

  it('carries no TypeBox internals: the document is plain JSON', () => {
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });

  it('every example in the document validates against the schema it sits on', () => {
    const checked: string[] = [];
    const visit = (examples: unknown[], schema: TSchema, where: string): void => {
      expect(Array.isArray(examples), where).toBe(true);
      for (const example of examples) {
        expect(problemsOf(schema, example), `${where}: ${JSON.stringify(example)}`).toEqual([]);
        checked.push(where);
      }
    };
    const schemas = doc.components.schemas as Json;
    for (const [name, schema] of Object.entries(NAMED_SCHEMAS)) walkExamples(schemas[name], schema, visit, `#/components/schemas/${name}`);
    const parameters = doc.components.parameters as Json;
    for (const [name, spec] of Object.entries(PARAMETERS)) walkExamples((parameters[name] as Json).schema, spec.schema, visit, `#/components/parameters/${name}`);
    // Every request body and every JSON answer of the API routes has at least one example.
    for (const route of API_ROUTES) {
      if ('body' in route && !('mediaType' in route.body)) expect(route.body.schema.examples, `${route.id} request`).toBeDefined();
      if ('operational' in route) continue;
      for (const [status, answer] of Object.entries(route.answers)) {
        if ('schema' in answer && !('mediaType' in answer)) expect(answer.schema.examples, `${route.id} ${status}`).toBeDefined();
      }
    }
    process.stdout.write(`[contract] ${checked.length} examples validated\n`);
    expect(checked.length).toBeGreaterThanOrEqual(25);
  });

  it('an example that does not fit its schema is caught (the check above can fail)', () => {
    expect(problemsOf(NAMED_SCHEMAS.ProduceRequest, { records: [{ value: 'x', partiton: 1 }] })).not.toEqual([]);
  });
});

describe('request validation from the schemas', () => {
  it('names each field that does not fit, with INVALID_REQUEST and the problems in details', () => {
    let error: unknown;
    try {
      requestBody('joinGroup', { topics: 'orders', sessionTimeoutMs: 50, colour: 'red' });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'INVALID_REQUEST' });
    const message = (error as Error).message;
    expect(message).toMatch(/^joinGroup: /);
    for (const field of ['/topics', '/sessionTimeoutMs', '/colour']) expect(message).toContain(field);
    const problems = (error as { details: { problems: Array<{ field: string }> } }).details.problems;
    expect(problems.map((p) => p.field).sort()).toEqual(['/colour', '/sessionTimeoutMs', '/topics']);
  });

  it('answers with the code a field names when only such fields are wrong, INVALID_REQUEST first otherwise', () => {
    expect(() => requestBody('createTopic', { name: 42 })).toThrow(expect.objectContaining({ code: 'INVALID_TOPIC' }));
    expect(() => requestBody('createTopic', { partitions: 1 })).toThrow(expect.objectContaining({ code: 'INVALID_TOPIC' }));
    expect(() => requestBody('createTopic', { name: 't', partitions: '2' })).toThrow(expect.objectContaining({ code: 'INVALID_PARTITIONS' }));
    expect(() => requestBody('produceRecords', { records: [{ value: 'x', timestamp: 'now' }] })).toThrow(expect.objectContaining({ code: 'INVALID_TIMESTAMP' }));
    expect(() => requestBody('updateTopicConfigs', { 'retention.ms': 5 })).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST' }));
  });

  it('passes a body that fits, unchanged', () => {
    const body = { records: [{ key: 'k', value: { any: ['json'] }, headers: [{ key: 'h', value: null }] }], valueEncoding: 'json' };
    expect(requestBody('produceRecords', body)).toBe(body);
    expect(checkBody(NAMED_SCHEMAS.ResetOffsetsRequest, { topic: 't', to: 'latest' }, 'reset')).toEqual({ topic: 't', to: 'latest' });
  });

  it('lists at most VALIDATION_PROBLEMS_MAX problems however many fields are wrong', () => {
    const records = Array.from({ length: 1_000 }, () => ({ value: 'x', partition: -1 }));
    const problems = problemsOf(NAMED_SCHEMAS.ProduceRequest, { records });
    expect(problems.length).toBe(20);
  });
});
