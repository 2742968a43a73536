// Broker-wide options: what the broker core needs to know, independent of where it came from
// (a mosquitto.conf file through src/config, or a program embedding Culex through the library API).

/** Options that Mosquitto scopes per listener when `per_listener_settings true`; global otherwise. */
export interface SecurityOptions {
  allowAnonymous: boolean;
  allowZeroLengthClientId: boolean;
  /** Prefix of identifiers assigned to clients that connect with an empty one. Mosquitto: "auto-". */
  autoIdPrefix: string;
  passwordFile?: string;
  aclFile?: string;
  pskFile?: string;
}

export interface BrokerOptions extends SecurityOptions {
  /** Only clients whose identifier starts with this prefix may connect (Mosquitto `clientid_prefixes`). */
  clientIdPrefixes?: string;
  /** Seconds; 0 = no limit. Clients asking more get the limit (MQTT 5 Server Keep Alive) or are refused (3.1.1). */
  maxKeepalive: number;
  /** Bytes; 0 = unlimited. A larger incoming packet ends the connection (0x95). */
  maxPacketSize: number;
  /** Bytes of payload; 0 = unlimited. Larger PUBLISHes are dropped. */
  messageSizeLimit: number;
  /** Per client, QoS 1 and 2 messages in flight towards it; 0 = unlimited. Mosquitto default 20. */
  maxInflightMessages: number;
  maxInflightBytes: number;
  /** Per client, messages queued beyond the in-flight window; 0 = unlimited. Mosquitto default 1000. */
  maxQueuedMessages: number;
  maxQueuedBytes: number;
  queueQos0Messages: boolean;
  upgradeOutgoingQos: boolean;
  retainAvailable: boolean;
  /** Seconds after which a disconnected persistent session of a 3.1/3.1.1 client is removed; 0 = never. */
  persistentClientExpiration: number;
  /** Highest QoS the broker supports (Mosquitto `max_qos`, per listener there). */
  maxQos: 0 | 1 | 2;
  /** MQTT 5 Topic Alias Maximum the broker accepts from clients; Mosquitto default 10. */
  maxTopicAlias: number;
  /** Log connect / disconnect lines. */
  connectionMessages: boolean;
  /** Seconds a new connection may take to send CONNECT before it is closed. */
  connectTimeout: number;
  /**
   * Mosquitto `check_retain_source`: a retained message goes out only while its publisher may still write it.
   * Off by default, as Mosquitto 2.0.11 really behaves without the option (its manual says on).
   */
  checkRetainSource: boolean;
  /**
   * Culex only (`session_owner_check`): a persistent session last used by another username is discarded, as at
   * a Clean Start, instead of being resumed. Off by default: Mosquitto resumes it (deliveries then follow the
   * new user's ACL).
   */
  sessionOwnerCheck: boolean;
  /** Subscriptions a single client may hold; 0 = unlimited. Culex extension that guards memory. */
  maxSubscriptionsPerClient: number;
  /**
   * Most levels a topic name or filter (SUBSCRIBE, UNSUBSCRIBE, PUBLISH, Will) may have; 0 = unlimited. Deeper ones
   * close the connection (MQTT 5: DISCONNECT 0x81 for filters, 0x82 for topics). Default 201 = Mosquitto's
   * TOPIC_HIERARCHY_LIMIT, which allows 200 '/' separators.
   */
  maxTopicLevels: number;
  /**
   * Bytes; 0 = only max_packet_size. Largest packet accepted before CONNACK (CONNECT, AUTH, packets sent ahead),
   * checked from its fixed header. Culex extension: Mosquitto buffers any CONNECT up to max_packet_size.
   */
  maxPreConnectPacketSize: number;
  /**
   * Bytes; 0 = unlimited. Total that all connections which have not completed CONNECT and authentication may make
   * the broker hold (announced packet lengths and packets held during authentication); beyond it the connection
   * that would exceed it is closed. Culex extension.
   */
  maxPreConnectBytes: number;
  /**
   * MQTT 5: when set, a client sending Request Response Information 1 gets Response Information
   * `${prefix}${clientId}` in its CONNACK, a topic base for its responses. Unset = never sent (as Mosquitto).
   */
  responseInformationPrefix?: string;
  /**
   * Milliseconds the CONNACK refusing a failed login waits, doubling per further failure from the same address
   * up to `authFailureDelayMax`; 0 = answer at once (Mosquitto). Culex extension against password guessing.
   */
  authFailureDelay: number;
  authFailureDelayMax: number;
  /**
   * Mosquitto `memory_limit`: bytes of memory (V8 heap in use plus Buffers, sampled: memory-limit.ts) past which
   * incoming messages are dropped with their publisher disconnected and new connections closed; 0 = no limit.
   */
  memoryLimit: number;
  /** Mosquitto 2.1 `global_max_clients`: sessions (connected or kept) the broker holds; -1 = unlimited. */
  globalMaxClients: number;
  /** Mosquitto 2.1 `global_max_connections`: open connections across all listeners; -1 = unlimited. */
  globalMaxConnections: number;
}

export const defaultBrokerOptions: Readonly<BrokerOptions> = Object.freeze({
  allowAnonymous: true,
  allowZeroLengthClientId: true,
  autoIdPrefix: 'auto-',
  maxKeepalive: 65535,
  maxPacketSize: 0,
  messageSizeLimit: 0,
  maxInflightMessages: 20,
  maxInflightBytes: 0,
  maxQueuedMessages: 1000,
  maxQueuedBytes: 0,
  queueQos0Messages: false,
  upgradeOutgoingQos: false,
  retainAvailable: true,
  persistentClientExpiration: 0,
  maxQos: 2,
  maxTopicAlias: 10,
  connectionMessages: true,
  connectTimeout: 10,
  checkRetainSource: false,
  sessionOwnerCheck: false,
  maxSubscriptionsPerClient: 0,
  authFailureDelay: 0,
  authFailureDelayMax: 5000,
  memoryLimit: 0,
  globalMaxClients: -1,
  globalMaxConnections: -1,
  maxTopicLevels: 201,
  maxPreConnectPacketSize: 1024 * 1024,
  maxPreConnectBytes: 64 * 1024 * 1024,
});
