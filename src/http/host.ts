// What the HTTP API listener reads from the broker: the core's state and counters, and the listeners opened.

import type { BrokerCore } from '../broker/broker-core.js';
import type { ListenerContext } from '../broker/listener-context.js';
import type { ListenerOptions } from '../transport/listener-options.js';

export interface HttpApiHost {
  readonly core: BrokerCore;
  /** Culex's version, for /api/v1/version and culex_build_info. */
  readonly version: string;
  /** Every listener opened so far in configuration order, with the port really bound (the http_api ones too). */
  listenerOptions(): readonly ListenerOptions[];
}

/** The HTTP API listener's own settings; its context (hooks, security) exists once its port is bound. */
export interface HttpApiListenerSetup {
  readonly options: ListenerOptions;
  readonly context: () => ListenerContext;
}
