// Client-side helpers for the transport and security suites: command-line tools with a deadline and the npm
// `mqtt` client wrapped in promises (no reconnects, so a refusal is an error and not a retry loop).

import { spawn } from 'node:child_process';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export interface ToolResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runTool(command: string, args: readonly string[], timeoutMs = 10_000): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Connects or rejects with the first error / close / CONNACK refusal. */
export function connectMqtt(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    const fail = (err: Error): void => {
      client.end(true);
      reject(err);
    };
    client.once('connect', () => {
      client.off('error', fail);
      resolve(client);
    });
    client.once('error', fail);
    client.once('close', () => fail(new Error('connection closed before CONNACK')));
  });
}

/** Subscribes, publishes one message to itself and resolves with what came back. */
export async function roundTrip(
  client: MqttClient,
  topic: string,
  payload: string,
  timeoutMs = 5000,
): Promise<string> {
  await client.subscribeAsync(topic, { qos: 1 });
  const got = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message on ${topic}`)), timeoutMs);
    client.on('message', (t, p) => {
      if (t !== topic) return;
      clearTimeout(timer);
      resolve(p.toString());
    });
  });
  await client.publishAsync(topic, payload, { qos: 1 });
  return got;
}

/** Waits for one message on `topic` (already subscribed), or undefined after `ms`. */
export function nextMessage(client: MqttClient, topic: string, ms: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      client.off('message', on);
      resolve(undefined);
    }, ms);
    const on = (t: string, p: Buffer): void => {
      if (t !== topic) return;
      clearTimeout(timer);
      client.off('message', on);
      resolve(p.toString());
    };
    client.on('message', on);
  });
}
