// The default store: nothing is written anywhere (the broker's own maps are the only state), as with
// Mosquitto's `persistence false`. Every method is a no-op, and `durable` is false so the broker skips them.

import type { PersistenceStore, RestoredState } from './store.js';

export class MemoryStore implements PersistenceStore {
  readonly durable = false;
  readonly description = 'memory';
  readonly pending = false;
  readonly holdsOutput = false;

  load(): RestoredState {
    return { sessions: [], subscriptions: [], deliveries: [], incomingQos2: [], retained: [], wills: [] };
  }

  onPending(): void {}
  saveSession(): void {}
  deleteSession(): void {}
  saveSubscription(): void {}
  deleteSubscription(): void {}
  addDelivery(): void {}
  updateDelivery(): void {}
  removeDelivery(): void {}
  addIncomingQos2(): void {}
  removeIncomingQos2(): void {}
  setRetained(): void {}
  saveWill(): void {}
  deleteWill(): void {}
  commit(): void {}
  close(): void {}
}
