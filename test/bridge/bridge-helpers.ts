// Shared pieces of the bridge tests: bridge sections parsed from mosquitto.conf text, an in-process Culex with
// bridges, and MQTT clients that collect what they receive.

import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { BridgeConfig } from '../../src/bridge/bridge-config.js';
import type { Bridges } from '../../src/bridge/bridges.js';
import { parseConfigText } from '../../src/config/parse.js';
import { type Broker, type BrokerInit, startBridges } from '../../src/index.js';
import { startBroker } from '../helpers/broker.js';
import { waitFor } from '../helpers/net.js';

/** The bridges of a configuration made of `lines` (a listener line is added so the file is complete). */
export function bridgesFrom(lines: readonly string[]): BridgeConfig[] {
  return parseConfigText(['listener 1883 127.0.0.1', ...lines, ''].join('\n'), 'bridge.conf').bridges;
}

export interface BridgedCulex {
  broker: Broker;
  port: number;
  bridges: Bridges;
  stop(): Promise<void>;
}

/** An in-process Culex on a free loopback port with the bridges of `lines`. */
export async function culexWithBridges(
  lines: readonly string[],
  init: BrokerInit = {},
): Promise<BridgedCulex> {
  const b = await startBroker(init);
  const bridges = startBridges(b.broker, bridgesFrom(lines));
  return {
    broker: b.broker,
    port: b.port,
    bridges,
    stop: async () => {
      bridges.stopAll();
      await b.stop();
    },
  };
}

/** Resolves once every bridge of `bridges` is up (or fails after `ms`). */
export async function bridgesUp(bridges: Bridges, ms = 5000): Promise<void> {
  const up = await waitFor(() => bridges.list().every((b) => b.stats.state === 'up'), ms);
  if (!up) throw new Error(`bridges not up: ${JSON.stringify(bridges.list())}`);
}

export interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
}

export interface Collector {
  client: MqttClient;
  received: Received[];
  end(): Promise<void>;
}

export async function connect(port: number, options: IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect({
    host: '127.0.0.1',
    port,
    reconnectPeriod: 0,
    connectTimeout: 3000,
    ...options,
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

/** A client subscribed to `filters` that records every message. */
export async function collector(
  port: number,
  filters: readonly string[],
  qos: 0 | 1 | 2 = 1,
  options: IClientOptions = {},
): Promise<Collector> {
  const client = await connect(port, options);
  const received: Received[] = [];
  client.on('message', (topic, payload, packet) => {
    received.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain });
  });
  await client.subscribeAsync([...filters], { qos });
  return { client, received, end: () => client.endAsync() };
}

export async function publish(
  port: number,
  topic: string,
  payload: string,
  qos: 0 | 1 | 2 = 1,
  retain = false,
): Promise<void> {
  const client = await connect(port);
  await client.publishAsync(topic, payload, { qos, retain });
  await client.endAsync();
}

/** Waits until `c` holds `count` messages; returns them. */
export async function receivedCount(c: Collector, count: number, ms = 5000): Promise<Received[]> {
  const ok = await waitFor(() => c.received.length >= count, ms);
  if (!ok) throw new Error(`expected ${count} messages, got ${JSON.stringify(c.received)}`);
  return c.received;
}
