// Shared checks for the MQTT 5 conformance tests.

import assert from 'node:assert/strict';
import type { RawClient } from '../helpers/raw-client.js';

/**
 * Sends bytes the broker must treat as a Malformed Packet or Protocol Error: it may send DISCONNECT with the
 * expected reason code (0x81 or 0x82 unless told), then must close the connection.
 */
export async function rejected(
  client: RawClient,
  bytes: Buffer | readonly number[],
  reasons = [0x81, 0x82],
): Promise<void> {
  client.send(bytes as Buffer);
  const packets = await client.collect(1500);
  assert.equal(await client.waitClosed(1000), true, 'the connection should be closed');
  const last = packets.at(-1);
  if (last !== undefined) {
    assert.equal(last.type, 14, `only a DISCONNECT may come back, got type ${last.type}`);
    assert.ok(
      last.type === 14 && reasons.includes(last.reasonCode),
      `reason 0x${last.type === 14 ? last.reasonCode.toString(16) : ''}`,
    );
  }
}

export function payloads(ps: ReadonlyArray<{ type: number }>): string[] {
  return ps.flatMap((p) => ('payload' in p && Buffer.isBuffer(p.payload) ? [p.payload.toString()] : []));
}

export function topics(ps: ReadonlyArray<{ type: number }>): string[] {
  return ps.flatMap((p) => ('topic' in p && typeof p.topic === 'string' ? [p.topic] : []));
}
