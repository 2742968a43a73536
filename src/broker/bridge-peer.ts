// Loop prevention between two brokers bridged both ways (Culex only, MQTT 5): each side of a bridge learns
// which broker is at the other end. A bridge says so in a User Property of its CONNECT, the receiving Culex
// answers with its own in the CONNACK, and the bridge passes it on in the CONNECT of its local connection. No
// Local then also keeps a message away from every connection leading to the broker it came from, not only
// from the connection that published it; Mosquitto has no such exchange and loops (docs/compatibility.md).

import { randomUUID } from 'node:crypto';
import type { ConnectPacket } from '../protocol/packets.js';
import type { Properties } from '../protocol/properties.js';

export const BRIDGE_PEER_PROPERTY = 'culex-bridge-peer';

const ids = new WeakMap<object, string>();

/** This broker's identity for the exchange: random per broker instance, so two in one process differ. */
export function brokerIdentity(broker: object): string {
  let id = ids.get(broker);
  if (id === undefined) {
    id = randomUUID();
    ids.set(broker, id);
  }
  return id;
}

/** The peer broker a CONNECT names, if any. */
export function bridgePeerOf(packet: ConnectPacket): string | undefined {
  return peerIn(packet.properties);
}

export function peerIn(properties: Properties | undefined): string | undefined {
  const props = properties?.userProperties;
  if (props === undefined) return undefined;
  for (const [key, value] of props) if (key === BRIDGE_PEER_PROPERTY) return value;
  return undefined;
}

/** Adds the peer claim to a property block (a bridge's CONNECT, a Culex CONNACK answering one). */
export function withPeer(properties: Properties, peer: string): Properties {
  properties.userProperties = [...(properties.userProperties ?? []), [BRIDGE_PEER_PROPERTY, peer]];
  return properties;
}

/**
 * True when `session` is a bridge's and the message came in from the same peer broker (through another
 * connection to it): No Local then keeps it from going back. Only bridge sessions pay for the lookup.
 */
export function fromBridgePeer(
  session: { readonly bridgePeer: string | undefined },
  origin: string,
  sessions: { get(clientId: string): { readonly bridgePeer: string | undefined } | undefined },
): boolean {
  const peer = session.bridgePeer;
  return peer !== undefined && sessions.get(origin)?.bridgePeer === peer;
}
