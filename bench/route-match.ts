// Micro benchmark of the per-subscriber routing step (Router.match: the topic tree's cached match, then each
// entry's options read): 1,000,000 messages to 10 subscribers. For instruction counts under
// `valgrind --tool=callgrind node dist/bench/route-match.js` when subscription entries change shape.

import type { Message } from '../src/broker/message.js';
import { Router } from '../src/broker/router.js';
import { Session } from '../src/broker/session.js';
import type { SessionRegistry } from '../src/broker/session-registry.js';
import type { SubscriptionEntry } from '../src/broker/subscription.js';
import * as subscription from '../src/broker/subscription.js';

const runs = Number(process.env.ROUTE_RUNS ?? 1_000_000);
const router = new Router(new Map() as unknown as SessionRegistry);
// Entries as the broker makes them (a class where there is one, plain objects before it existed).
const Record = (subscription as Record<string, unknown>).SubscriptionRecord as
  | (new (
      ...args: unknown[]
    ) => SubscriptionEntry)
  | undefined;
for (let i = 0; i < 10; i++) {
  const session = new Session(`c${i}`);
  const filter = i % 2 === 0 ? 'bench/t' : 'bench/+';
  const e: SubscriptionEntry =
    Record === undefined
      ? {
          session,
          filter,
          matchFilter: filter,
          shareGroup: undefined,
          qos: 1,
          noLocal: i === 3,
          retainAsPublished: false,
          retainHandling: 0,
          identifier: 0,
        }
      : new Record(session, filter, filter, undefined, 1, i === 3, false, 0, 0);
  session.subscriptions.set(filter, e);
  router.add(e);
}
const message = { topic: 'bench/t', origin: 'nobody' } as unknown as Message;
let sum = 0;
const start = process.hrtime.bigint();
for (let i = 0; i < runs; i++) sum += router.match(message).count;
const ms = Number(process.hrtime.bigint() - start) / 1e6;
console.log(`${runs} matches to ${sum / runs} subscribers: ${ms.toFixed(0)} ms`);
