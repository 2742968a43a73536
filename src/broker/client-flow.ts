// Flow control between client connections (backpressure.ts) as the delivery engine sees it. Targets that are
// not client connections (a bridge, a cluster peer) are never paused for: their QoS 0 messages go while they
// are not congested.

import { acknowledged, admitBacklogged, queued } from './backpressure.js';
import { Connection } from './connection.js';
import type { DeliveryTarget, FlowControl } from './delivery-target.js';
import type { Session } from './session.js';

export const clientFlowControl: FlowControl = {
  admitBacklogged(
    publisher: DeliveryTarget | null,
    target: DeliveryTarget,
    now: number,
    size: number,
  ): boolean {
    if (!(target instanceof Connection)) return !target.congested;
    return admitBacklogged(publisher instanceof Connection ? publisher : null, target, now, size);
  },
  queued(publisher: DeliveryTarget, target: DeliveryTarget, session: Session, now: number): void {
    if (publisher instanceof Connection && target instanceof Connection)
      queued(publisher, target, session, now);
  },
  acknowledged(session: Session): void {
    acknowledged(session);
  },
};
