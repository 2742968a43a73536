// /api/culex/v1/retained: retained messages browsed by topic filter, and deleted without publishing anything.

import type { BrokerCore } from '../broker/broker-core.js';
import { Message } from '../broker/message.js';
import { validateTopicFilter } from '../protocol/topic.js';
import { type AdminAnswer, type AdminRequest, logChange, page } from './admin-api.js';

export function listRetained(core: BrokerCore, query: URLSearchParams): AdminAnswer {
  const { offset, limit } = page(query);
  const filter = query.get('filter') ?? '#';
  if (validateTopicFilter(filter) !== null)
    return { status: 400, body: { error: `bad topic filter ${filter}` } };
  const all = core.retained.match(filter, core.now);
  const messages = all.slice(offset, offset + limit).map((m) => ({
    topic: m.topic,
    qos: m.qos,
    payload_bytes: m.payload.length,
    // Base64, so that binary payloads survive JSON; the dashboard decodes text itself.
    payload_base64: m.payload.toString('base64'),
  }));
  return { status: 200, body: { total: all.length, offset, limit, messages } };
}

/**
 * Removes a retained message without publishing anything (an empty retained PUBLISH would reach subscribers
 * [MQTT-3.3.1-10]); the store forgets it too.
 */
export function deleteRetained(core: BrokerCore, topic: string, request: AdminRequest): AdminAnswer {
  const previous = core.retained.get(topic);
  if (previous === undefined) return { status: 404, body: { error: `no retained message on ${topic}` } };
  logChange(core, request, `deleted the retained message of ${topic}`);
  if (core.store.durable) core.store.setRetained(topic, undefined, previous);
  core.retained.set(new Message(topic, Buffer.alloc(0), 0, true, undefined, '', 0));
  return { status: 200, body: { deleted: topic } };
}
