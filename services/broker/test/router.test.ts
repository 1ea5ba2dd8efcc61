import { describe, expect, it } from 'vitest';
import { ROUTES } from '../src/http/routes.js';
import { Router, type Route } from '../src/http/router.js';

const routes: Route[] = ROUTES.map((spec) => ({ ...spec, handler: () => ({ status: 204 as const }) }));

/** The matcher before paths without '%' were matched by segment count: every route, decoding as it goes. */
function fullScan(method: string, pathname: string): { id: string; params: Record<string, string> } | { code: string; allow?: string[] } {
  const path = pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
  const parts = path.split('/').slice(1);
  const allowed: string[] = [];
  for (const route of routes) {
    const segments = route.path.split('/').slice(1);
    if (segments.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let matched = true;
    for (let i = 0; i < segments.length && matched; i++) {
      const segment = segments[i]!;
      if (!segment.startsWith('{')) matched = segment === parts[i];
      else if (parts[i] === '') matched = false;
      else params[segment.slice(1, -1)] = decodeURIComponent(parts[i]!);
    }
    if (!matched) continue;
    if (route.method === method) return { id: route.id, params };
    allowed.push(route.method);
  }
  return allowed.length > 0 ? { code: 'METHOD_NOT_ALLOWED', allow: allowed } : { code: 'NOT_FOUND' };
}

function viaRouter(router: Router, method: string, pathname: string): ReturnType<typeof fullScan> {
  try {
    const { route, params } = router.match(method, pathname);
    return { id: route.id, params };
  } catch (e) {
    const error = e as { code: string; details?: { allow?: string[] } };
    return error.details?.allow === undefined ? { code: error.code } : { code: error.code, allow: error.details.allow };
  }
}

describe('Router.match', () => {
  it('answers a path without percent-encoding as a scan of every route does', () => {
    const router = new Router(routes);
    const paths = new Set<string>(['/', '/v1', '/v1/', '/nothing/here', '/v1/topics/t/partitions/0/unknown']);
    for (const route of routes) {
      paths.add(route.path.replace(/\{[^}]+\}/g, 'orders.v1'));
      paths.add(route.path.replace(/\{[^}]+\}/g, '0') + '/');
      paths.add(route.path.replace(/\{[^}]+\}/g, ''));
    }
    for (const path of paths) {
      for (const method of ['GET', 'POST', 'PATCH', 'DELETE', 'PUT']) expect(viaRouter(router, method, path), `${method} ${path}`).toEqual(fullScan(method, path));
    }
  });
});
