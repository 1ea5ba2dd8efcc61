// Every route the broker serves: @strata/api's table (method, path, whether it is served while
// shutting down), so the router, the validation and the OpenAPI document share one list.

import { API_ROUTES, type RouteId as ApiRouteId } from '@strata/api';
import type { RouteSpec } from './router.js';

export const ROUTES: ReadonlyArray<RouteSpec<ApiRouteId>> = API_ROUTES.map((r) => ({
  id: r.id,
  method: r.method,
  path: r.path,
  ...('operational' in r ? { operational: r.operational } : {}),
  ...('public' in r ? { public: r.public } : {}),
}));

export type RouteId = ApiRouteId;
