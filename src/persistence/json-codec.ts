// MQTT 5 properties and subscription identifiers as JSON text columns; Buffers (correlation data) survive the
// round trip through Node's Buffer#toJSON shape.

import type { Properties } from '../protocol/properties.js';

function reviveBuffers(_key: string, value: unknown): unknown {
  if (typeof value === 'object' && value !== null) {
    const v = value as { type?: unknown; data?: unknown };
    if (v.type === 'Buffer' && Array.isArray(v.data)) return Buffer.from(v.data as number[]);
  }
  return value;
}

export function encodeProperties(properties: Properties | undefined): string | null {
  return properties === undefined ? null : JSON.stringify(properties);
}

export function decodeProperties(text: string | null): Properties | undefined {
  return text === null ? undefined : (JSON.parse(text, reviveBuffers) as Properties);
}

export function encodeIds(ids: readonly number[] | undefined): string | null {
  return ids === undefined ? null : JSON.stringify(ids);
}

export function decodeIds(text: string | null): number[] | undefined {
  return text === null ? undefined : (JSON.parse(text) as number[]);
}
