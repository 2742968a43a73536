// Topic Name and Topic Filter syntax [MQTT-4.7], including shared subscriptions `$share/{group}/{filter}` [MQTT-4.8.2].

import { MqttProtocolError, TOPIC_FILTER_INVALID, TOPIC_NAME_INVALID } from './errors.js';
import { checkUtf8String } from './utf8.js';

const PLUS = 0x2b;
const HASH = 0x23;
const SLASH = 0x2f;
const SHARE_PREFIX = '$share/';

function nameError(rule: string, message: string): MqttProtocolError {
  return new MqttProtocolError(TOPIC_NAME_INVALID, rule, message);
}

function filterError(rule: string, message: string): MqttProtocolError {
  return new MqttProtocolError(TOPIC_FILTER_INVALID, rule, message);
}

/** True when a topic name contains a wildcard character (forbidden in PUBLISH [MQTT-3.3.2-2]). */
export function hasWildcard(topic: string): boolean {
  return topic.indexOf('+') !== -1 || topic.indexOf('#') !== -1;
}

/**
 * True when `topic` has more than `maxLevels` levels (0 = no limit). A string of L characters has at most L + 1
 * levels, so the usual short topic is not scanned at all (this runs for every PUBLISH).
 */
export function exceedsLevels(topic: string, maxLevels: number): boolean {
  if (maxLevels === 0 || topic.length < maxLevels) return false;
  let levels = 1;
  for (let i = topic.indexOf('/'); i !== -1; i = topic.indexOf('/', i + 1)) {
    if (++levels > maxLevels) return true;
  }
  return false;
}

/** Validates a PUBLISH / Will topic name; an empty name is only legal with a Topic Alias, which is checked elsewhere. */
export function validateTopicName(topic: string): MqttProtocolError | null {
  if (topic.length === 0) return nameError('MQTT-4.7.3-1', 'topic name is empty');
  if (hasWildcard(topic)) return nameError('MQTT-3.3.2-2', 'topic name contains a wildcard');
  return checkUtf8String(topic);
}

/** Validates a SUBSCRIBE / UNSUBSCRIBE topic filter, including the shared-subscription form. */
export function validateTopicFilter(filter: string): MqttProtocolError | null {
  const syntax = checkFilterSyntax(filter);
  if (syntax !== null) return syntax;
  return checkUtf8String(filter);
}

/** Syntax only: callers that already validated the bytes as UTF-8 (the decoder) use this. */
export function checkFilterSyntax(filter: string): MqttProtocolError | null {
  if (filter.length === 0) return filterError('MQTT-4.7.3-1', 'topic filter is empty');
  if (filter.startsWith(SHARE_PREFIX)) {
    const slash = filter.indexOf('/', SHARE_PREFIX.length);
    const group = filter.slice(SHARE_PREFIX.length, slash === -1 ? filter.length : slash);
    if (group.length === 0) return filterError('MQTT-4.8.2-1', 'shared subscription group is empty');
    if (group.indexOf('+') !== -1 || group.indexOf('#') !== -1) {
      return filterError('MQTT-4.8.2-2', 'shared subscription group contains a wildcard');
    }
    if (slash === -1 || slash === filter.length - 1) {
      return filterError('MQTT-4.8.2-1', 'shared subscription has no topic filter');
    }
    return checkWildcards(filter, slash + 1);
  }
  return checkWildcards(filter, 0);
}

function checkWildcards(filter: string, from: number): MqttProtocolError | null {
  const n = filter.length;
  for (let i = from; i < n; i++) {
    const c = filter.charCodeAt(i);
    if (c !== PLUS && c !== HASH) continue;
    const alone =
      (i === from || filter.charCodeAt(i - 1) === SLASH) &&
      (i === n - 1 || filter.charCodeAt(i + 1) === SLASH);
    if (c === PLUS && !alone) return filterError('MQTT-4.7.1-2', "'+' must occupy a whole topic level");
    if (c === HASH && (!alone || i !== n - 1)) {
      return filterError('MQTT-4.7.1-1', "'#' must be the last character and occupy a whole level");
    }
  }
  return null;
}

/** Splits `$share/{group}/{filter}`; null when the filter is not a valid shared subscription. */
export function parseSharedFilter(filter: string): { group: string; filter: string } | null {
  if (!filter.startsWith(SHARE_PREFIX) || checkFilterSyntax(filter) !== null) return null;
  const slash = filter.indexOf('/', SHARE_PREFIX.length);
  return { group: filter.slice(SHARE_PREFIX.length, slash), filter: filter.slice(slash + 1) };
}
