// Mosquitto's bridge topic remapping: the local prefix is swapped for the remote prefix going out, and back in.
// Runs per message: filters are split once per topic line, topics are walked in place (no split, no array).

import type { BridgeTopic } from './bridge-config.js';

const levelCache = new WeakMap<BridgeTopic, { local: string[]; remote: string[] }>();

function levelsOf(t: BridgeTopic): { local: string[]; remote: string[] } {
  let levels = levelCache.get(t);
  if (levels === undefined) {
    levels = { local: t.localTopic.split('/'), remote: t.remoteTopic.split('/') };
    levelCache.set(t, levels);
  }
  return levels;
}

/** Does `topic` match the filter split into `levels`? `$` topics only match filters starting with `$`. */
export function matchesLevels(levels: readonly string[], topic: string): boolean {
  if (topic.charCodeAt(0) === 36 /* $ */ && (levels[0]?.charCodeAt(0) ?? 0) !== 36) return false;
  let start = 0;
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    // "a/#" also matches "a" itself [MQTT-4.7.1-2].
    if (level === '#') return true;
    if (start > topic.length) return false;
    let end = topic.indexOf('/', start);
    if (end === -1) end = topic.length;
    if (level !== '+' && (end - start !== level.length || !topic.startsWith(level, start))) return false;
    start = end + 1;
  }
  return start > topic.length;
}

/**
 * The remote topic of a message published locally on `topic`, or undefined when no `out` / `both` topic of the
 * bridge matches (first match wins, in file order, as in Mosquitto).
 */
export function toRemote(topics: readonly BridgeTopic[], topic: string): string | undefined {
  for (const t of topics) {
    if (t.direction === 'in' || !matchesLevels(levelsOf(t).local, topic)) continue;
    if (t.localPrefix === '' && t.remotePrefix === '') return topic;
    if (!topic.startsWith(t.localPrefix)) continue;
    return t.remotePrefix + topic.slice(t.localPrefix.length);
  }
  return undefined;
}

/** The local topic of a message received from the remote broker on `topic` (`in` / `both` topics). */
export function toLocal(topics: readonly BridgeTopic[], topic: string): string | undefined {
  for (const t of topics) {
    if (t.direction === 'out' || !matchesLevels(levelsOf(t).remote, topic)) continue;
    if (t.localPrefix === '' && t.remotePrefix === '') return topic;
    if (!topic.startsWith(t.remotePrefix)) continue;
    return t.localPrefix + topic.slice(t.remotePrefix.length);
  }
  return undefined;
}
