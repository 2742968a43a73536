// MQTT topic-filter matching with Mosquitto's rules, shared by the ACL code (and usable by the broker).

const MAX_TOPIC_BYTES = 65535;

/** True when `filter` is a syntactically valid subscription filter [MQTT-4.7.1-1] [MQTT-4.7.1-2]. */
export function isValidFilter(filter: string): boolean {
  if (filter.length === 0 || Buffer.byteLength(filter) > MAX_TOPIC_BYTES) return false;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] as string;
    // '#' must be alone in its level and last [MQTT-4.7.1-2]; '+' must fill its level [MQTT-4.7.1-3].
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return false;
    if (level.includes('+') && level !== '+') return false;
  }
  return true;
}

/** True when `topic` is a valid topic name: non-empty and free of wildcards [MQTT-4.7.3-1] [MQTT-3.3.2-2]. */
function isValidTopicName(topic: string): boolean {
  if (topic.length === 0 || Buffer.byteLength(topic) > MAX_TOPIC_BYTES) return false;
  return !topic.includes('+') && !topic.includes('#');
}

/**
 * Does the topic name `topic` match the subscription filter `filter`?
 * Invalid inputs never match. Topics starting with '$' only match filters that also start with '$',
 * so leading wildcards never reach `$SYS` and friends [MQTT-4.7.2-1].
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (!isValidFilter(filter) || !isValidTopicName(topic)) return false;
  if (filter.startsWith('$') !== topic.startsWith('$')) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i] as string;
    // Multi-level wildcard also matches the parent level itself ("a/#" matches "a") [MQTT-4.7.1-2].
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}
