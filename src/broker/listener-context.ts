// What a connection inherits from the listener it arrived on; the transport layer builds one per listener.

import type { BrokerHooks } from './hooks.js';
import type { SecurityOptions } from './options.js';

export interface ListenerContext {
  /** Listener port, for log lines and hooks; 0 for Unix sockets and streams handed in directly. */
  readonly port: number;
  /** A plain MQTT listener (not `protocol websockets`): an HTTP request arriving there is explained, then closed. */
  readonly plainMqtt?: boolean;
  /** Prefix added to the topics of this listener's clients (Mosquitto `mount_point`). */
  readonly mountPoint: string;
  readonly security: SecurityOptions;
  /** Hooks for this listener (per_listener_settings) or the broker's. */
  readonly hooks: BrokerHooks;
  readonly maxQos: 0 | 1 | 2;
  readonly maxTopicAlias: number;
  readonly useUsernameAsClientId: boolean;
  /** A bridge's own connection to this broker: Mosquitto logs none of its connection lines (src/bridge). */
  readonly quiet?: boolean;
  /** Mosquitto 2.1 `accept_protocol_versions`: protocol levels this listener accepts (all when absent). */
  readonly acceptProtocolVersions?: ReadonlyArray<3 | 4 | 5>;
  /** Mosquitto 2.1 `max_topic_alias_broker`: at most this many topic aliases towards a client (no cap when absent). */
  readonly maxTopicAliasBroker?: number;
  /**
   * Username taken from the TLS client certificate (use_identity_as_username / use_subject_as_username);
   * null when the listener takes it from TLS and the client gave no usable identity.
   */
  readonly certificateUsername?: string | null;
}
