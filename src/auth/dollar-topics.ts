// Broker-wide rules for '$' topics that Mosquitto applies before any ACL file or plugin is consulted.

import type { AclAccess } from './acl-file.js';
import { topicMatches } from './topic-match.js';

/**
 * Clients may read `$SYS` but never publish to it, except bridge-status topics
 * (`$SYS/broker/connection/+/state`); `$share/...` is only meaningful as a subscription filter.
 * Other `$` topics are left to the ACL.
 */
export function dollarTopicAllowed(access: AclAccess, topic: string): boolean {
  if (!topic.startsWith('$')) return true;
  if (topic.startsWith('$SYS')) {
    return access !== 'write' || topicMatches('$SYS/broker/connection/+/state', topic);
  }
  if (topic.startsWith('$share')) return access === 'subscribe' || access === 'unsubscribe';
  return true;
}
