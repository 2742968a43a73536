// Authorization of what leaves the broker: every delivery (live, queued, resent, retained) is checked against
// the identity of the session it goes to at the time it goes, and wills and retained messages against the
// identity of the client that made them, which may have left long ago (Mosquitto 2.0 does the same).

import type { AccessMessage, BrokerHooks, ClientInfo } from './hooks.js';
import type { Message, MessageSource } from './message.js';
import type { Session } from './session.js';

/**
 * Who a session, a will or a retained message belongs to, kept when the connection is gone: the fields an
 * authorize hook sees, and the hooks of the listener the client came through (undefined when restored from
 * the store: the broker resolves them from `listenerPort` when needed).
 */
export class ClientIdentity implements MessageSource {
  constructor(
    readonly clientId: string,
    readonly username: string | undefined,
    readonly protocolVersion: 3 | 4 | 5,
    readonly remoteAddress: string,
    readonly listenerPort: number,
    public hooks: BrokerHooks | undefined,
  ) {}

  static of(client: ClientInfo, hooks: BrokerHooks): ClientIdentity {
    return new ClientIdentity(
      client.clientId,
      client.username,
      client.protocolVersion,
      client.remoteAddress,
      client.listenerPort,
      hooks,
    );
  }
}

/** Finds the hooks of a listener by port, for identities restored from the store (the broker). */
export interface HooksResolver {
  hooksForPort(listenerPort: number): BrokerHooks;
}

/**
 * Whether the session's client may read `topic` now: its live connection when connected, else the identity it
 * last connected with. A session restored from the store without one is checked when its client comes back.
 */
export function mayRead(session: Session, topic: string): boolean {
  const conn = session.connection;
  if (conn !== null) {
    const authorize = conn.context.hooks.authorize;
    return authorize === undefined || authorize(conn, 'read', topic);
  }
  const owner = session.owner;
  const authorize = owner?.hooks?.authorize;
  return authorize === undefined || authorize(owner!, 'read', topic);
}

/** Whether `who` may publish to `topic` (a will at publication, the source of a retained message). */
export function mayWrite(
  who: MessageSource,
  topic: string,
  resolve: HooksResolver,
  message?: AccessMessage,
): boolean {
  if (!dollarWriteAllowed(topic)) return false;
  who.hooks ??= resolve.hooksForPort(who.listenerPort);
  const authorize = who.hooks.authorize;
  return authorize === undefined || authorize(who, 'write', topic, message);
}

const BRIDGE_STATE_PREFIX = '$SYS/broker/connection/';

/**
 * Mosquitto's rule for `$` topics, applied whatever the ACL (acl__check_dollar in 2.0): clients never publish
 * into `$SYS` except bridge state topics (`$SYS/broker/connection/+/state`), nor to a `$share/...` name, which is
 * only meaningful as a subscription filter. Both are refused with 0x87 in MQTT 5.
 */
export function dollarWriteAllowed(topic: string): boolean {
  if (topic.charCodeAt(0) !== 0x24) return true;
  if (topic.startsWith('$SYS')) {
    if (!topic.startsWith(BRIDGE_STATE_PREFIX) || !topic.endsWith('/state')) return false;
    const slash = topic.indexOf('/', BRIDGE_STATE_PREFIX.length);
    return slash === topic.length - 6;
  }
  return !topic.startsWith('$share');
}

/**
 * `check_retain_source` (Mosquitto's fix for CVE-2018-12546): a retained message goes out only while the client
 * that published it may still write its topic (the ACL may have been reloaded since, or the broker restarted).
 */
export function retainSourceAllowed(message: Message, resolve: HooksResolver): boolean {
  const source = message.source;
  // Messages the broker made itself ($SYS, wills published before the source was known) have no source.
  return source === undefined || mayWrite(source, message.topic, resolve, message);
}

/**
 * Culex option `session_owner_check` (off by default, as Mosquitto hands a session to whoever presents its client
 * identifier): a session last used by another username is not resumed but discarded, as at a Clean Start.
 */
export function foreignSession(
  options: { sessionOwnerCheck: boolean },
  session: Session,
  client: ClientInfo,
): boolean {
  const owner = session.owner;
  return options.sessionOwnerCheck && owner !== undefined && owner.username !== client.username;
}
