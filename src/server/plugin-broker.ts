// The PluginBroker a plugin's context carries: publishes as the broker itself and disconnects clients,
// bound late because plugins load before the broker is built.

import type { BrokerCore } from '../broker/broker-core.js';
import { disconnectByUsername } from '../broker/kick.js';
import { Message } from '../broker/message.js';
import type { PluginBroker } from './plugin-api.js';

export function pluginBroker(current: () => BrokerCore | undefined): PluginBroker {
  return {
    publish(topic, payload) {
      current()?.publish(new Message(topic, payload, 0, false, undefined, '', 0), null);
    },
    disconnectClients(usernames) {
      const broker = current();
      if (broker !== undefined && usernames.size > 0) disconnectByUsername(broker, usernames);
    },
  };
}
