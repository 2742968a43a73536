// Reading parsed JSON the way the plugin's cJSON helpers do: member names match case-insensitively
// (cJSON_GetObjectItem), numbers become C ints (valueint), and an optional member of the wrong type is an error.

import type { JsonValue } from './cjson.js';

export type JsonObject = { [key: string]: JsonValue };

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** cJSON_GetObjectItem: the first member whose name equals `name` ignoring ASCII case. */
export function member(obj: JsonObject, name: string): JsonValue | undefined {
  if (Object.hasOwn(obj, name)) return obj[name];
  const lower = name.toLowerCase();
  for (const key of Object.keys(obj)) if (key.toLowerCase() === lower) return obj[key];
  return undefined;
}

/** cJSON's valueint: the double truncated and saturated to a 32-bit int. */
function toInt(n: number): number {
  if (n >= 2147483647) return 2147483647;
  if (n <= -2147483648) return -2147483648;
  return Math.trunc(n);
}

/** json_get_string: undefined = absent (allowed when optional), null = wrong type or absent when required. */
export function getString(obj: JsonObject, name: string, optional: boolean): string | undefined | null {
  const v = member(obj, name);
  if (v === undefined) return optional ? undefined : null;
  return typeof v === 'string' ? v : null;
}

/** json_get_int with a default (the return code is ignored at every call site that has a default). */
export function getInt(obj: JsonObject, name: string, fallback: number): number {
  const v = member(obj, name);
  return typeof v === 'number' ? toInt(v) : fallback;
}

export function getBool(obj: JsonObject, name: string, fallback: boolean): boolean {
  const v = member(obj, name);
  return typeof v === 'boolean' ? v : fallback;
}
