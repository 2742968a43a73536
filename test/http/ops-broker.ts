// A Culex built by createBroker from mosquitto.conf text, in process: an MQTT listener, then the given lines,
// then an http_api listener with its own lines, then bridge sections; log lines captured.

import { createBroker, type Logger, parseConfig } from '../../src/index.js';
import type { ConfiguredBroker } from '../../src/server/create-broker.js';
import { freePort } from '../helpers/net.js';

export interface OpsBroker {
  broker: ConfiguredBroker;
  mqttPort: number;
  httpPort: number;
  /** Every line logged so far, one per line. */
  log(): string;
  stop(): Promise<void>;
}

export async function startOps(
  lines: readonly string[],
  httpLines: readonly string[] = [],
  /** Written last: bridge `connection` sections. */
  tail: readonly string[] = [],
): Promise<OpsBroker> {
  // A port found free may be taken by another test file before the broker binds it: try fresh ones.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(lines, httpLines, tail);
    } catch (err) {
      if (attempt >= 5 || !String((err as Error).message).includes('EADDRINUSE')) throw err;
    }
  }
}

async function startOnce(
  lines: readonly string[],
  httpLines: readonly string[],
  tail: readonly string[],
): Promise<OpsBroker> {
  const mqttPort = await freePort();
  const httpPort = await freePort();
  const logged: string[] = [];
  const logger: Logger = { enabled: () => true, log: (_level, message) => logged.push(message) };
  const text = [
    `listener ${mqttPort} 127.0.0.1`,
    ...lines,
    `listener ${httpPort} 127.0.0.1`,
    'protocol http_api',
    ...httpLines,
    ...tail,
    '',
  ].join('\n');
  const broker = await createBroker(parseConfig(text, 'ops.conf'), { logger });
  return { broker, mqttPort, httpPort, log: () => logged.join('\n'), stop: () => broker.stop() };
}
