// /api/culex/v1/subscriptions: every client's subscriptions in one paged list, narrowed by a topic filter
// (`filter`: the subscriptions it covers), a topic (`topic`: those a message on it would reach) or a client.

import type { BrokerCore } from '../broker/broker-core.js';
import type { SubscriptionEntry } from '../broker/subscription.js';
import { validateTopicFilter, validateTopicName } from '../protocol/topic.js';
import { type AdminAnswer, PageCollector } from './admin-api.js';

const PLUS = 0x2b;
const HASH = 0x23;
const DOLLAR = 0x24;

/**
 * A test of whether a subscription's filter lies under `pattern`: `pattern`'s `+` and `#` are wildcards, the
 * filter's levels are compared as text (so `sensors/#` covers `sensors/+/temp`). A filter starting with '$' is
 * only under a pattern starting with '$' [MQTT-4.7.2-1]. The pattern is split once; each filter is walked in place
 * (indexOf / startsWith, no allocation per subscription).
 */
export function coveredBy(pattern: string): (filter: string) => boolean {
  const levels = pattern.split('/');
  const dollar = pattern.charCodeAt(0) === DOLLAR;
  return (filter) => {
    if ((filter.charCodeAt(0) === DOLLAR) !== dollar) return false;
    let at = 0;
    for (const level of levels) {
      // `a/#` covers `a` itself [MQTT-4.7.1-2].
      if (level === '#') return true;
      if (at > filter.length) return false;
      let end = filter.indexOf('/', at);
      if (end < 0) end = filter.length;
      if (level !== '+' && (end - at !== level.length || !filter.startsWith(level, at))) return false;
      at = end + 1;
    }
    return at > filter.length;
  };
}

/**
 * A test of whether a message on `topic` reaches a subscription's filter (MQTT's match [MQTT-4.7.1-1]; a topic
 * starting with '$' is not matched by a leading wildcard [MQTT-4.7.2-1]). The topic is split once.
 */
export function reaching(topic: string): (filter: string) => boolean {
  const levels = topic.split('/');
  const dollar = topic.charCodeAt(0) === DOLLAR;
  return (filter) => {
    let at = 0;
    for (let i = 0; ; i++) {
      let end = filter.indexOf('/', at);
      if (end < 0) end = filter.length;
      const length = end - at;
      const c = filter.charCodeAt(at);
      if (length === 1 && c === HASH) return !(dollar && i === 0);
      if (i >= levels.length) return false;
      if (length === 1 && c === PLUS) {
        if (dollar && i === 0) return false;
      } else {
        const level = levels[i]!;
        if (level.length !== length || !filter.startsWith(level, at)) return false;
      }
      if (end === filter.length) return i === levels.length - 1;
      at = end + 1;
    }
  };
}

function view(e: SubscriptionEntry): Record<string, unknown> {
  return {
    client_id: e.session.clientId,
    online: e.session.connection !== null,
    filter: e.filter,
    share_group: e.shareGroup ?? null,
    qos: e.qos,
    no_local: e.noLocal,
    retain_as_published: e.retainAsPublished,
    retain_handling: e.retainHandling,
    identifier: e.identifier === 0 ? null : e.identifier,
  };
}

export function listSubscriptions(core: BrokerCore, query: URLSearchParams): AdminAnswer {
  const filter = query.get('filter') ?? '';
  const topic = query.get('topic') ?? '';
  const clientId = query.get('client_id');
  if (filter !== '' && validateTopicFilter(filter) !== null)
    return { status: 400, body: { error: `bad topic filter ${filter}` } };
  if (topic !== '' && validateTopicName(topic) !== null)
    return { status: 400, body: { error: `bad topic name ${topic}` } };
  const page = new PageCollector<Record<string, unknown>>(query);
  const covered = filter === '' ? undefined : coveredBy(filter);
  const reached = topic === '' ? undefined : reaching(topic);
  const visit = (e: SubscriptionEntry): void => {
    // Compared without the $share/group/ prefix and with the listener's mount point, as routing sees them.
    if (covered !== undefined && !covered(e.matchFilter)) return;
    if (reached !== undefined && !reached(e.matchFilter)) return;
    if (page.wants()) page.items.push(view(e));
  };
  if (clientId !== null) {
    const session = core.sessions.get(clientId);
    if (session !== undefined && session.subscriptionCount > 0)
      for (const e of session.subscriptions.values()) visit(e);
  } else {
    for (const session of core.sessions.values()) {
      if (session.subscriptionCount > 0) for (const e of session.subscriptions.values()) visit(e);
    }
  }
  return page.answer('subscriptions');
}
