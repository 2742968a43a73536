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
  websocketsHeadersSize?: number;
  tls?: TlsOptions;
  /** Present only with `per_listener_settings true`: authentication scoped to this listener. */
  security?: SecurityOptions;
}
