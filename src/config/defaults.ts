// Mosquitto 2.0 defaults: the values a configuration starts from, and the "local only" listeners.

import type { SecurityOptions } from '../broker/options.js';
import { defaultBrokerOptions } from '../broker/options.js';
import type { ListenerOptions } from '../transport/listener-options.js';
import type { CulexConfig, LogOptions, PersistenceOptions } from './config.js';

export const DEFAULT_PORT = 1883;
/** Mosquitto 2.0 binds its implicit listeners to both loopback addresses. */
export const LOOPBACK_HOSTS = ['127.0.0.1', '::1'] as const;

export function defaultLogOptions(): LogOptions {
  return {
    dest: [{ kind: 'stderr' }],
    types: new Set(['error', 'warning', 'notice', 'information']),
    timestamp: true,
  };
}

export function defaultPersistenceOptions(): PersistenceOptions {
  return {
    enabled: false,
    location: '',
    file: 'mosquitto.db',
    autosaveInterval: 1800,
    autosaveOnChanges: false,
  };
}

/** Security of one listener under per_listener_settings: like the global defaults but anonymous off. */
export function defaultListenerSecurity(): SecurityOptions {
  return {
    allowAnonymous: false,
    allowZeroLengthClientId: defaultBrokerOptions.allowZeroLengthClientId,
    autoIdPrefix: defaultBrokerOptions.autoIdPrefix,
  };
}

export function defaultListener(port: number): ListenerOptions {
  return { port, protocol: 'mqtt', maxConnections: -1, setTcpNodelay: true, useUsernameAsClientId: false };
}

/** Mosquitto 2.0 "local only mode": each port on 127.0.0.1 and on ::1, anonymous clients allowed. */
export function localOnlyListeners(
  ports: readonly number[],
  perListenerSettings: boolean,
): ListenerOptions[] {
  const out: ListenerOptions[] = [];
  for (const port of ports) {
    for (const host of LOOPBACK_HOSTS) {
      const listener: ListenerOptions = {
        ...defaultListener(port),
        host,
        socketDomain: host === '::1' ? 'ipv6' : 'ipv4',
      };
      if (perListenerSettings) listener.security = { ...defaultListenerSecurity(), allowAnonymous: true };
      out.push(listener);
    }
  }
  return out;
}

/** What `mosquitto` with no -c uses: everything default, local only on port 1883. */
export function defaultConfig(): CulexConfig {
  return {
    broker: { ...defaultBrokerOptions, allowAnonymous: true },
    listeners: localOnlyListeners([DEFAULT_PORT], false),
    localOnly: true,
    log: defaultLogOptions(),
    persistence: defaultPersistenceOptions(),
    perListenerSettings: false,
    sysInterval: 10,
    setTcpNodelay: true,
    plugins: [],
    bridges: [],
    files: [],
    warnings: [],
    workers: 1,
  };
}
