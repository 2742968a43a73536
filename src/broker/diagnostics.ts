// Typed broker events on node:diagnostics_channel, for metrics exporters and tracing. Each is published only
// when the channel has subscribers (`hasSubscribers`), so nobody listening costs one property read per event.

import diagnosticsChannel from 'node:diagnostics_channel';
import type { QoS } from '../protocol/packets.js';
import type { ClientInfo } from './hooks.js';
import type { Message } from './message.js';

/** Where a message entered the broker (BrokerCore.publish). */
export type PublishOrigin = 'client' | 'will' | 'sys' | 'log' | 'plugin' | 'bridge' | 'cluster';

/** `culex:publish`: a message was accepted and routed; `matched` counts matching subscriptions. */
export interface PublishEvent {
  readonly message: Message;
  /** The publishing client; null for the broker's own messages (wills, $SYS, the log topic, plugins). */
  readonly client: ClientInfo | null;
  readonly origin: PublishOrigin;
  readonly matched: number;
}

/** `culex:deliver`: a PUBLISH went to a client (first send; resends at reconnection are not counted). */
export interface DeliverEvent {
  readonly clientId: string;
  readonly message: Message;
  readonly qos: QoS;
  /** 0 for QoS 0. */
  readonly packetId: number;
}

export type DropEventReason = 'queueFull' | 'slowConsumer' | 'expired' | 'acl';

/** `culex:drop`: a delivery that will never reach its client. */
export interface DropEvent {
  readonly clientId: string;
  readonly reason: DropEventReason;
  /** Undefined when the drop is counted without the message at hand (a full queue, a slow consumer). */
  readonly message: Message | undefined;
}

/** `culex:client:connect` (CONNACK sent) and `culex:client:disconnect`. */
export interface ClientEvent {
  readonly client: ClientInfo;
}

/** `culex:subscribe` / `culex:unsubscribe`: a filter accepted (as the client sent it). */
export interface SubscriptionEvent {
  readonly client: ClientInfo;
  readonly filter: string;
  /** The granted QoS; undefined for unsubscribe. */
  readonly qos: QoS | undefined;
}

/** `culex:commit`: a persistence commit (group commit) finished; `seconds` from its start until durable. */
export interface CommitEvent {
  readonly seconds: number;
  /** False when the commit failed (acknowledgements withheld). */
  readonly ok: boolean;
}

export const CHANNEL = {
  publish: 'culex:publish',
  deliver: 'culex:deliver',
  drop: 'culex:drop',
  clientConnect: 'culex:client:connect',
  clientDisconnect: 'culex:client:disconnect',
  subscribe: 'culex:subscribe',
  unsubscribe: 'culex:unsubscribe',
  commit: 'culex:commit',
} as const;

export const publishChannel = diagnosticsChannel.channel(CHANNEL.publish);
export const deliverChannel = diagnosticsChannel.channel(CHANNEL.deliver);
export const dropChannel = diagnosticsChannel.channel(CHANNEL.drop);
export const clientConnectChannel = diagnosticsChannel.channel(CHANNEL.clientConnect);
export const clientDisconnectChannel = diagnosticsChannel.channel(CHANNEL.clientDisconnect);
export const subscribeChannel = diagnosticsChannel.channel(CHANNEL.subscribe);
export const unsubscribeChannel = diagnosticsChannel.channel(CHANNEL.unsubscribe);
export const commitChannel = diagnosticsChannel.channel(CHANNEL.commit);

export function traceDeliver(clientId: string, message: Message, qos: QoS, packetId: number): void {
  const event: DeliverEvent = { clientId, message, qos, packetId };
  deliverChannel.publish(event);
}

export function traceDrop(clientId: string, reason: DropEventReason, message: Message | undefined): void {
  const event: DropEvent = { clientId, reason, message };
  dropChannel.publish(event);
}

export function traceClient(channel: diagnosticsChannel.Channel, client: ClientInfo): void {
  const event: ClientEvent = { client };
  channel.publish(event);
}

export function traceSubscription(
  channel: diagnosticsChannel.Channel,
  client: ClientInfo,
  filter: string,
  qos: QoS | undefined,
): void {
  const event: SubscriptionEvent = { client, filter, qos };
  channel.publish(event);
}

/** Publishes a commit's duration, measured from `startedAt` (performance.now() ms). */
export function traceCommit(startedAt: number, ok: boolean): void {
  const event: CommitEvent = { seconds: (performance.now() - startedAt) / 1000, ok };
  commitChannel.publish(event);
}
