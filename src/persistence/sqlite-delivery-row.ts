// A `deliveries` row's values, written into an insert batch (sqlite-batch.ts) in the column order of
// DELIVERY_INSERT, or INLINE_DELIVERY_INSERT when the row carries its message.

import { encodeIds, encodeProperties } from './json-codec.js';
import type { InsertBatch } from './sqlite-batch.js';
import type { DeliveryRecord } from './store.js';

export function pushDeliveryRow(
  batch: InsertBatch,
  clientId: string,
  d: DeliveryRecord,
  inline: boolean,
): void {
  const message = d.message;
  const group = d.group;
  const v = batch.values;
  let i = batch.row();
  v[i++] = d.seq;
  v[i++] = clientId;
  v[i++] = message.id;
  v[i++] = d.qos;
  v[i++] = d.retain ? 1 : 0;
  v[i++] = encodeIds(d.subscriptionIds);
  v[i++] = d.packetId;
  v[i++] = d.released ? 1 : 0;
  v[i++] = group === undefined ? null : group.name;
  v[i++] = group === undefined ? null : group.filter;
  if (!inline) return;
  const source = message.source;
  v[i++] = message.topic;
  v[i++] = message.payload;
  v[i++] = message.qos;
  v[i++] = message.retain ? 1 : 0;
  v[i++] = encodeProperties(message.properties);
  v[i++] = message.origin;
  v[i++] = message.expiresAt;
  v[i++] = source === undefined ? null : (source.username ?? null);
  v[i] = source === undefined ? null : source.listenerPort;
}
