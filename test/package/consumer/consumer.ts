// A program that embeds Culex as a user would, importing only the published entry points. Type-checked by
// test/package/typings.test.ts against the emitted declarations (dist/src/**/*.d.ts), never run.

import {
  Broker,
  type BrokerHooks,
  type ClientInfo,
  createBroker,
  type Message,
  type Page,
  parseConfig,
  type SessionView,
} from 'culex-mqtt';
import { encodePacket, type Packet, PacketDecoder, ReasonCode } from 'culex-mqtt/protocol';

const hooks: BrokerHooks = {
  authenticate: ({ username, password }) => username === 'alice' && password?.toString() === 'secret',
  authorize: (client: ClientInfo, access, topic) =>
    access !== 'write' || topic.startsWith(`${client.clientId}/`),
};

export async function main(): Promise<void> {
  const broker = new Broker({ options: { maxQueuedMessages: 1000 }, hooks });
  broker.on('message', (message: Message) => message.topic.length);
  const [listener] = await broker.listen([{ port: 0, host: '127.0.0.1' }]);
  void listener;
  const packet: Packet = { type: 12 };
  const bytes: Buffer = encodePacket(packet, 4);
  const decoder = new PacketDecoder({ maxPacketSize: 1024 });
  decoder.push(bytes, { onPacket: () => undefined, onDecodeError: () => undefined });
  const code: number = ReasonCode.NotAuthorized;
  void code;
  const sessions: Page<SessionView> = broker.sessions.list({ state: 'offline', limit: 50 });
  void sessions.cursor;
  broker.on(
    'subscribe',
    (client: ClientInfo, filter: string, qos: 0 | 1 | 2) => client.clientId.length + filter.length + qos,
  );
  broker.publish({ topic: 'a/b', payload: 'x', qos: 1 });
  broker.disconnect('someone', { reasonCode: 0x98 });
  await broker.stop();
  const configured = await createBroker(parseConfig('listener 1883 127.0.0.1\n'));
  await configured.reload();
  await configured.stop();
}
