// The HTTP contract from @strata/api, as the broker serves it: every JSON body is checked against
// its route's schema before anything changes (an unknown field is named and refused), every
// example of the served document is accepted as it stands, and each reply fits its schema.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ROUTES, problemsOf, type ApiRoute } from '@strata/api';
import { call, createTopic, type TestBroker, startTestBroker } from './helpers.js';

let t: TestBroker;

beforeAll(async () => {
  t = await startTestBroker();
  // The examples name topic "orders" and group "billing".
  await createTopic(t.url, 'orders', 1);
});
afterAll(async () => {
  await t.stop();
});

/** A concrete path of a route: the examples' names for its parameters. */
function pathOf(route: ApiRoute): string {
  return route.path.replace('{topic}', 'orders').replace('{partition}', '0').replace('{group}', 'billing').replace('{member}', 'm-1').replace('{user}', 'alice');
}

const jsonBodyRoutes = (API_ROUTES as readonly ApiRoute[]).filter((r) => r.body !== undefined && r.body.mediaType === undefined);

describe('request bodies are checked against the schemas of @strata/api', () => {
  it('covers every JSON body route', () => {
    expect(jsonBodyRoutes.map((r) => r.id).sort()).toEqual(
      ['addTopicPartitions', 'alterQuotas', 'commitGroupOffsets', 'createAcls', 'createTopic', 'createUser', 'deleteRecords', 'groupHeartbeat', 'initProducerId', 'issueToken', 'joinGroup', 'produceRecords', 'resetGroupOffsets', 'updateTopicConfigs'].sort(),
    );
  });

  for (const route of jsonBodyRoutes) {
    it(`${route.id}: an unknown field is refused with 400 INVALID_REQUEST naming it, and nothing changes`, async () => {
      const example = (route.body!.schema.examples as unknown[])[0] as Record<string, unknown>;
      const before = await call(t.url, 'GET', '/v1/topics/orders');
      const res = await call(t.url, route.method, pathOf(route), { ...example, colour: 'red' });
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.error.code).toBe('INVALID_REQUEST');
      expect(res.body.error.message).toContain('/colour');
      expect(res.body.error.details.problems).toEqual(expect.arrayContaining([expect.objectContaining({ field: '/colour' })]));
      expect((await call(t.url, 'GET', '/v1/topics/orders')).body).toEqual(before.body);
      expect((await call(t.url, 'GET', '/v1/topics')).body.topics.map((x: { name: string }) => x.name)).toEqual(['orders']);
    });
  }

  it('a field of the wrong type is named with the path inside the body', async () => {
    const res = await call(t.url, 'POST', '/v1/topics/orders/records', { records: [{ value: 'a' }, { value: 'b', partition: 'zero' }] });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_REQUEST');
    expect(res.body.error.message).toContain('/records/1/partition');
  });

  it('accepts the documented examples, and answers with bodies that fit the documented schemas', async () => {
    const produce = API_ROUTES.find((r) => r.id === 'produceRecords')!;
    const produced = await call(t.url, 'POST', '/v1/topics/orders/records', (produce.body.schema.examples as unknown[])[0]);
    expect(produced.status, JSON.stringify(produced.body)).toBe(200);
    expect(problemsOf(produce.answers['200'].schema, produced.body)).toEqual([]);
    for (const id of ['describeTopic', 'listTopics', 'fetchRecords', 'listOffsets', 'describeCluster', 'listGroups'] as const) {
      const route = API_ROUTES.find((r) => r.id === id)! as ApiRoute;
      const query = id === 'fetchRecords' ? '?offset=0' : id === 'listOffsets' ? '?at=latest' : '';
      const res = await call(t.url, 'GET', `${pathOf(route)}${query}`);
      expect(res.status, `${id} ${JSON.stringify(res.body)}`).toBe(200);
      expect(problemsOf(route.answers['200']!.schema!, res.body), id).toEqual([]);
    }
    const join = API_ROUTES.find((r) => r.id === 'joinGroup')!;
    const joined = await call(t.url, 'POST', '/v1/groups/billing/members', (join.body.schema.examples as unknown[])[0]);
    expect(joined.status, JSON.stringify(joined.body)).toBe(200);
    expect(problemsOf(join.answers['200'].schema, joined.body)).toEqual([]);
    const init = API_ROUTES.find((r) => r.id === 'initProducerId')!;
    const id = await call(t.url, 'POST', '/v1/producers', (init.body.schema.examples as unknown[])[0]);
    expect(id.status, JSON.stringify(id.body)).toBe(200);
    expect(problemsOf(init.answers['200'].schema, id.body)).toEqual([]);
    const alter = API_ROUTES.find((r) => r.id === 'alterQuotas')!;
    const altered = await call(t.url, 'POST', '/v1/quotas', (alter.body.schema.examples as unknown[])[0]);
    expect(altered.status, JSON.stringify(altered.body)).toBe(200);
    expect(problemsOf(alter.answers['200'].schema, altered.body)).toEqual([]);
    const quotas = await call(t.url, 'GET', '/v1/quotas');
    expect(problemsOf(API_ROUTES.find((r) => r.id === 'listQuotas')!.answers['200'].schema, quotas.body)).toEqual([]);
    const described = await call(t.url, 'GET', '/v1/groups/billing');
    expect(problemsOf(API_ROUTES.find((r) => r.id === 'describeGroup')!.answers['200'].schema, described.body)).toEqual([]);
  });
});
