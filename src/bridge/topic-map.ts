// Mosquitto's bridge topic remapping: the local prefix is swapped for the remote prefix going out, and back in.

import { topicMatches } from '../auth/topic-match.js';
import type { BridgeTopic } from './bridge-config.js';

/**
 * The remote topic of a message published locally on `topic`, or undefined when no `out` / `both` topic of the
 * bridge matches (first match wins, in file order, as in Mosquitto).
 */
export function toRemote(topics: readonly BridgeTopic[], topic: string): string | undefined {
  for (const t of topics) {
    if (t.direction === 'in' || !topicMatches(t.localTopic, topic)) continue;
    if (t.localPrefix === '' && t.remotePrefix === '') return topic;
    if (!topic.startsWith(t.localPrefix)) continue;
    return t.remotePrefix + topic.slice(t.localPrefix.length);
  }
  return undefined;
}

/** The local topic of a message received from the remote broker on `topic` (`in` / `both` topics). */
export function toLocal(topics: readonly BridgeTopic[], topic: string): string | undefined {
  for (const t of topics) {
    if (t.direction === 'out' || !topicMatches(t.remoteTopic, topic)) continue;
    if (t.localPrefix === '' && t.remotePrefix === '') return topic;
    if (!topic.startsWith(t.remotePrefix)) continue;
    return t.localPrefix + topic.slice(t.remotePrefix.length);
  }
  return undefined;
}
