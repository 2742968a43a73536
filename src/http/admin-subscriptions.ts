// /api/culex/v1/subscriptions: every client's subscriptions in one paged list, narrowed by a topic filter
// (`filter`: the subscriptions it covers), a topic (`topic`: those a message on it would reach) or a client.

import type { BrokerCore } from '../broker/broker-core.js';
import type { SubscriptionEntry } from '../broker/subscription.js';
import { validateTopicFilter, validateTopicName } from '../protocol/topic.js';
import { type AdminAnswer, PageCollector } from './admin-api.js';

const PLUS = 0x2b;
const HASH = 0x23;

/** End of the level that starts at `from` (the index of its '/', or the length). */
function levelEnd(text: string, from: number): number {
  const at = text.indexOf('/', from);
  return at < 0 ? text.length : at;
}

function sameLevel(a: string, aFrom: number, aEnd: number, b: string, bFrom: number, bEnd: number): boolean {
  if (aEnd - aFrom !== bEnd - bFrom) return false;
  for (let i = 0; i < aEnd - aFrom; i++)
    if (a.charCodeAt(aFrom + i) !== b.charCodeAt(bFrom + i)) return false;
  return true;
}

/**
 * Whether `subject` lies under `pattern`: `pattern`'s `+` and `#` are wildcards, `subject`'s levels are compared
 * as text (so `sensors/#` covers `sensors/+/temp`); for a topic name as `subject` this is MQTT's own match. A subject starting with '$' is only under a pattern starting with '$' [MQTT-4.7.2-1].
 * Walks both strings without splitting them (no allocation per subscription).
 */
export function coveredBy(pattern: string, subject: string): boolean {
  if ((pattern.charCodeAt(0) === 0x24) !== (subject.charCodeAt(0) === 0x24)) return false;
  let p = 0;
  let s = 0;
  let subjectDone = false;
  for (;;) {
    const pEnd = levelEnd(pattern, p);
    const wildcard = pEnd - p === 1 ? pattern.charCodeAt(p) : 0;
    // `a/#` covers `a` itself [MQTT-4.7.1-2].
    if (wildcard === HASH) return true;
    if (subjectDone) return false;
    const sEnd = levelEnd(subject, s);
    if (wildcard !== PLUS && !sameLevel(pattern, p, pEnd, subject, s, sEnd)) return false;
    const patternDone = pEnd === pattern.length;
    subjectDone = sEnd === subject.length;
    if (patternDone) return subjectDone;
    p = pEnd + 1;
    s = sEnd + 1;
  }
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
  const visit = (e: SubscriptionEntry): void => {
    // Compared without the $share/group/ prefix and with the listener's mount point, as routing sees them.
    if (filter !== '' && !coveredBy(filter, e.matchFilter)) return;
    if (topic !== '' && !coveredBy(e.matchFilter, topic)) return;
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
