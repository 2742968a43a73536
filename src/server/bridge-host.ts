// Gives the bridges of src/bridge their narrow view of a broker: an in-memory connection on a listener
// context of its own (no password check, no ACL, as Mosquitto's bridge contexts), broker-made publishes, and
// the queue length of the bridge's local session.

import type { BridgeConfig } from '../bridge/bridge-config.js';
import type { BridgeHost } from '../bridge/bridge-host.js';
import { Bridges } from '../bridge/bridges.js';
import { brokerIdentity } from '../broker/bridge-peer.js';
import type { BrokerCore } from '../broker/broker-core.js';
import type { ListenerContext } from '../broker/listener-context.js';

/** The listener context of bridge connections: Mosquitto skips authentication and ACL checks for bridges. */
function bridgeContext(broker: BrokerCore): ListenerContext {
  return {
    port: 0,
    mountPoint: '',
    security: { ...broker.options, allowAnonymous: true },
    hooks: {},
    maxQos: 2,
    maxTopicAlias: broker.options.maxTopicAlias,
    useUsernameAsClientId: false,
    plainMqtt: false,
    quiet: true,
  };
}

export function bridgeHost(broker: BrokerCore): BridgeHost {
  const context = bridgeContext(broker);
  return {
    connectLocal: (stream, remoteAddress) => {
      broker.handleConnection(stream, context, remoteAddress);
    },
    publishLocal: (topic, payload, qos, retain) => {
      broker.publishWill({ topic, payload, qos, retain }, '', undefined);
    },
    queuedFor: (clientId) => {
      return broker.sessions.get(clientId)?.queuedCount ?? 0;
    },
    droppedFor: (clientId) => broker.sessions.get(clientId)?.dropped ?? 0,
    brokerId: brokerIdentity(broker),
    get logger() {
      return broker.logger;
    },
  };
}

/** Starts the configured bridges of a broker; the result adds, removes and restarts them at run time. */
export function startBridges(broker: BrokerCore, configs: readonly BridgeConfig[]): Bridges {
  const bridges = new Bridges(bridgeHost(broker));
  for (const config of configs) bridges.add(config);
  return bridges;
}
