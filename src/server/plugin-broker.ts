// The PluginBroker a plugin's context carries: the Broker's typed control surface, bound late because plugins
// load before the broker is built. Until it is attached, lists are empty, counts 0 and actions do nothing.

import { emptyBrokerStats } from '../broker/stats.js';
import type {
  BrokerControl,
  BrokerStatsView,
  ClientsApi,
  ListenerView,
  Page,
  RetainedApi,
  SessionsApi,
  SubscriptionsApi,
} from './broker-api.js';
import type { PluginBroker } from './plugin-api.js';

const EMPTY: Page<never> = { items: [], cursor: undefined, total: 0 };

function noStats(): BrokerStatsView {
  const zero = { connections: 0, clientsConnected: 0, sessions: 0, subscriptions: 0, retained: 0 };
  return { ...emptyBrokerStats(), ...zero };
}

export function pluginBroker(current: () => BrokerControl | undefined): PluginBroker {
  const clients: ClientsApi = {
    list: (request) => current()?.clients.list(request) ?? EMPTY,
    get: (clientId) => current()?.clients.get(clientId),
    get count() {
      return current()?.clients.count ?? 0;
    },
  };
  const sessions: SessionsApi = {
    list: (request) => current()?.sessions.list(request) ?? EMPTY,
    get: (clientId) => current()?.sessions.get(clientId),
    has: (clientId) => current()?.sessions.has(clientId) ?? false,
    delete: (clientId) => current()?.sessions.delete(clientId) ?? false,
    get count() {
      return current()?.sessions.count ?? 0;
    },
  };
  const subscriptions: SubscriptionsApi = {
    list: (request) => current()?.subscriptions.list(request) ?? EMPTY,
    get count() {
      return current()?.subscriptions.count ?? 0;
    },
  };
  const retained: RetainedApi = {
    list: (request) => current()?.retained.list(request) ?? EMPTY,
    get: (topic) => current()?.retained.get(topic),
    delete: (topic) => current()?.retained.delete(topic) ?? false,
    get count() {
      return current()?.retained.count ?? 0;
    },
  };
  return {
    clients,
    sessions,
    subscriptions,
    retained,
    publish: (request) => current()?.publish(request) ?? 0,
    disconnect: (clientId, options) => current()?.disconnect(clientId, options) ?? false,
    disconnectClients: (usernames) => current()?.disconnectClients(usernames) ?? 0,
    get listeners(): readonly ListenerView[] {
      return current()?.listeners ?? [];
    },
    get stats(): BrokerStatsView {
      return current()?.stats ?? noStats();
    },
  };
}

/** For a plugin loaded on its own (tests, tools): a broker that is never attached. */
export const detachedPluginBroker: PluginBroker = pluginBroker(() => undefined);
