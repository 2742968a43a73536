// What one listener needs: where to listen, which protocol, TLS material, and per-listener overrides.

import type { SecurityOptions } from '../broker/options.js';

export interface TlsOptions {
  cafile?: string;
  capath?: string;
  certfile?: string;
  keyfile?: string;
  ciphers?: string;
  ciphersTls13?: string;
  /** "tlsv1.3", "tlsv1.2" or "tlsv1.1": the minimum version accepted. */
  tlsVersion?: string;
  dhparamfile?: string;
  crlfile?: string;
  requireCertificate: boolean;
  useIdentityAsUsername: boolean;
  useSubjectAsUsername: boolean;
  pskHint?: string;
}

export interface ListenerOptions {
  /** 0 with `unixSocketPath` for a Unix domain socket listener. */
  port: number;
  /** Bind address or host name; undefined = all interfaces. */
  host?: string;
  unixSocketPath?: string;
  /** `http_api` (Mosquitto 2.1): the HTTP API, /metrics and http_dir instead of MQTT. */
  protocol: 'mqtt' | 'websockets' | 'http_api';
  socketDomain?: 'ipv4' | 'ipv6';
  bindInterface?: string;
  /** -1 = unlimited (Mosquitto's default). */
  maxConnections: number;
  setTcpNodelay: boolean;
  /** Prefix added to every topic of clients on this listener, and removed on the way out. */
  mountPoint?: string;
  useUsernameAsClientId: boolean;
  maxQos?: 0 | 1 | 2;
  maxTopicAlias?: number;
  httpDir?: string;
  /** Culex `http_api_token_file`: the bearer tokens of an http_api listener (src/http/token-file.ts). */
  httpApiTokenFile?: string;
  /** Culex `http_api_admin_role`: dynamic-security role whose clients are HTTP API admins (default super-admin). */
  httpApiAdminRole?: string;
  /** Culex `http_api_metrics_auth`: /metrics needs credentials like the other paths (default false: open). */
  httpApiMetricsAuth?: boolean;
  websocketsHeadersSize?: number;
  tls?: TlsOptions;
  /** Mosquitto 2.1 `enable_proxy_protocol`: each connection starts with a PROXY header of this version. */
  proxyProtocol?: 1 | 2;
  /** Mosquitto 2.1 `proxy_protocol_v2_require_tls`: the v2 header must say the client used TLS. */
  proxyProtocolV2RequireTls?: boolean;
  /**
   * `require_certificate` / `use_identity_as_username` on a PROXY listener without TLS of its own: checked
   * against the client certificate the v2 header reports (PP2_CLIENT_CERT_SESS, PP2_SUBTYPE_SSL_CN).
   */
  proxyClientCertificate?: { require: boolean; identityAsUsername: boolean };
  /** Mosquitto 2.1 `listener_allow_anonymous`: overrides allow_anonymous for this listener. */
  allowAnonymous?: boolean;
  /** Mosquitto 2.1 `listener_auto_id_prefix`: overrides auto_id_prefix for this listener. */
  autoIdPrefix?: string;
  /** Mosquitto 2.1 `accept_protocol_versions`: protocol levels (3, 4, 5) this listener accepts; all when absent. */
  acceptProtocolVersions?: ReadonlyArray<3 | 4 | 5>;
  /** Mosquitto 2.1 `max_topic_alias_broker`: cap on topic aliases sent to clients; no cap when absent. */
  maxTopicAliasBroker?: number;
  /** Mosquitto 2.1 `websockets_origin`: allowed Origin header values of WebSocket upgrades; any when absent. */
  websocketsOrigins?: readonly string[];
  /** Present only with `per_listener_settings true`: authentication scoped to this listener. */
  security?: SecurityOptions;
}
