// @strata/api: the HTTP API v1 written once. The schemas of every route's parameters, bodies and
// answers (TypeBox, i.e. JSON Schema), the TypeScript types derived from them, body validation,
// and the OpenAPI document generated from them. Used by the broker (validation, reply types, the
// served document), @strata/client and the CLI (types).

export * from './schemas.js';
export * from './schemas-quotas.js';
export * from './user-schemas.js';
export * from './acl-schemas.js';
export * from './event-schemas.js';
export { API_ROUTES, PARAMETERS, JSON_MEDIA_TYPE, RECORD_BATCH_MEDIA_TYPE, apiRoute } from './routes.js';
export type { Answer, ApiRoute, ErrorStatus, HttpMethod, JsonBodyRouteId, ParameterName, ParameterSpec, ReplyBody, RequestBody, RouteId } from './routes.js';
export { ERROR_ANSWERS, buildOpenApiDocument, schemaJson } from './openapi.js';
export type { OpenApiOptions } from './openapi.js';
export { VALIDATION_PROBLEMS_MAX, checkBody, problemsOf, requestBody } from './validate.js';
export type { Problem } from './validate.js';
export { parameterValue, parseInteger, pathParams, queryParams } from './parameters.js';
export type { PathParameterName, PathParams, QueryParams } from './parameters.js';
