// Options Culex knows from Mosquitto 2.0 but does not implement yet: refused by name, never ignored.

import { type OptionSpec, unsupported } from './option-spec.js';

const BRIDGES = 'bridges are not implemented yet';
const ENGINES = 'OpenSSL engines (hardware keys) are not available to Node TLS';

const bridgeOptions = [
  'address',
  'addresses',
  'bridge_attempt_unsubscribe',
  'bridge_bind_address',
  'bridge_max_packet_size',
  'bridge_outgoing_retain',
  'bridge_protocol_version',
  'cleansession',
  'local_cleansession',
  'connection',
  'keepalive_interval',
  'idle_timeout',
  'local_clientid',
  'local_password',
  'local_username',
  'notifications',
  'notifications_local_only',
  'notification_topic',
  'remote_clientid',
  'remote_password',
  'remote_username',
  // Older spellings of remote_clientid / remote_password / remote_username that Mosquitto still reads.
  'clientid',
  'password',
  'username',
  'restart_timeout',
  'round_robin',
  'start_type',
  'threshold',
  'topic',
  'try_private',
] as const;

const bridgeTlsOptions = [
  'bridge_alpn',
  'bridge_cafile',
  'bridge_capath',
  'bridge_certfile',
  'bridge_identity',
  'bridge_insecure',
  'bridge_keyfile',
  'bridge_psk',
  'bridge_require_ocsp',
  'bridge_tls_version',
] as const;

export const unsupportedOptions: Record<string, OptionSpec> = {
  ...Object.fromEntries(bridgeOptions.map((name) => [name, unsupported('bridge', BRIDGES)])),
  ...Object.fromEntries(bridgeTlsOptions.map((name) => [name, unsupported('bridge-tls', BRIDGES)])),
  tls_engine: unsupported('tls', ENGINES),
  tls_engine_kpass_sha1: unsupported('tls', ENGINES),
};
