// Every message this package describes, by API key: the request and response
// schema of each API. Adding an API = a schema file and one line here.

import { ApiVersionsRequest, ApiVersionsResponse } from './api-versions.js';
import { FetchRequest, FetchResponse } from './fetch.js';
import { ListOffsetsRequest, ListOffsetsResponse } from './list-offsets.js';
import { MetadataRequest, MetadataResponse } from './metadata.js';
import { ProduceRequest, ProduceResponse } from './produce.js';
import type { MessageInput, MessageSchema, MessageValue } from '../schema/types.js';

export const MESSAGES = {
  0: { request: ProduceRequest, response: ProduceResponse },
  1: { request: FetchRequest, response: FetchResponse },
  2: { request: ListOffsetsRequest, response: ListOffsetsResponse },
  3: { request: MetadataRequest, response: MetadataResponse },
  18: { request: ApiVersionsRequest, response: ApiVersionsResponse },
} as const satisfies Record<number, { request: MessageSchema; response: MessageSchema }>;

/** An API key this package has schemas for. */
export type KnownApiKey = keyof typeof MESSAGES;

export type RequestBody<K extends KnownApiKey> = MessageValue<(typeof MESSAGES)[K]['request']>;
export type RequestInput<K extends KnownApiKey> = MessageInput<(typeof MESSAGES)[K]['request']>;
export type ResponseBody<K extends KnownApiKey> = MessageValue<(typeof MESSAGES)[K]['response']>;
export type ResponseInput<K extends KnownApiKey> = MessageInput<(typeof MESSAGES)[K]['response']>;

export function isKnownApiKey(apiKey: number): apiKey is KnownApiKey {
  return Object.prototype.hasOwnProperty.call(MESSAGES, apiKey);
}

export {
  ApiVersionsRequest,
  ApiVersionsResponse,
  FetchRequest,
  FetchResponse,
  ListOffsetsRequest,
  ListOffsetsResponse,
  MetadataRequest,
  MetadataResponse,
  ProduceRequest,
  ProduceResponse,
};
