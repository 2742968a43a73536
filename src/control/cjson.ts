// JSON text exactly as cJSON prints it, so files and responses match Mosquitto's byte for byte:
// cJSON_Print (tabs, `"key":\tvalue`, arrays on one line with ", ") and cJSON_PrintUnformatted.

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** cJSON_PrintUnformatted: the same text as JSON.stringify for the integers and strings the plugin writes. */
export function printUnformatted(value: JsonValue): string {
  return JSON.stringify(value);
}

/** cJSON_Print: objects one member a line indented by tabs, arrays inline. */
export function printFormatted(value: JsonValue): string {
  return print(value, 0);
}

function print(value: JsonValue, depth: number): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  // cJSON counts an array as a nesting level too, so objects inside it are indented one tab further.
  if (Array.isArray(value)) return `[${value.map((v) => print(v, depth + 1)).join(', ')}]`;
  const inner = '\t'.repeat(depth + 1);
  let out = '{\n';
  const keys = Object.keys(value);
  keys.forEach((key, i) => {
    out += `${inner}${JSON.stringify(key)}:\t${print(value[key] as JsonValue, depth + 1)}`;
    out += i < keys.length - 1 ? ',\n' : '\n';
  });
  return `${out}${'\t'.repeat(depth)}}`;
}
