// Options Culex knows from Mosquitto 2.0 but does not implement yet: refused by name, never ignored.

import { type OptionSpec, unsupported } from './option-spec.js';

const ENGINES = 'OpenSSL engines (hardware keys) are not available to Node TLS';

export const unsupportedOptions: Record<string, OptionSpec> = {
  tls_engine: unsupported('tls', ENGINES),
  tls_engine_kpass_sha1: unsupported('tls', ENGINES),
};
