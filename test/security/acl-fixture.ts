// A broker process (Culex's CLI or the real Mosquitto 2.0.11, the oracle) with a password file and an ACL file,
// for the ACL tests that run the same steps against both: alice may read and write everything, bob only room/x.

import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashPassword } from '../../src/auth/password-file.js';
import type { ConnackPacket, Packet, PublishPacket, QoS } from '../../src/protocol/packets.js';
import { freePort, sleep } from '../helpers/net.js';
import { type BrokerProcess, CULEX_BIN, launchWith, tempDir, writeConf } from '../helpers/processes.js';
import { type ConnectOptions, RawClient, subscribe } from '../helpers/raw-client.js';
import { findTool } from '../helpers/tools.js';

export type BrokerKind = 'culex' | 'mosquitto';

export const ACL = 'user alice\ntopic readwrite #\n\nuser bob\ntopic readwrite room/x\n';
export const PASSWORDS: Readonly<Record<string, string>> = { alice: 'apw', bob: 'bpw', empty: '' };

let passwd: Promise<string> | undefined;

/** Password-file text for PASSWORDS (hashed once per test process). */
function passwordText(): Promise<string> {
  passwd ??= Promise.all(
    Object.entries(PASSWORDS).map(async ([user, pw]) => `${user}:${await hashPassword(pw)}`),
  ).then((lines) => `${lines.join('\n')}\n`);
  return passwd;
}

export interface SecureBroker {
  readonly kind: BrokerKind;
  readonly port: number;
  readonly dir: string;
  log(): string;
  /** Replaces the ACL file and sends SIGHUP; resolves once the broker says it reloaded. */
  reloadAcl(text: string): Promise<void>;
  /** Stops the process and starts it again on the same port and files (persistence restart). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** `extra` lines may name the broker's temporary directory as `$DIR`. */
export async function startSecure(
  kind: BrokerKind,
  extra: readonly string[] = [],
  acl = ACL,
): Promise<SecureBroker> {
  const dir = tempDir(`culex-${kind}-acl-`);
  const passwordFile = join(dir, 'passwd');
  const aclFile = join(dir, 'acl');
  writeFileSync(passwordFile, await passwordText(), { mode: 0o644 });
  writeFileSync(aclFile, acl, { mode: 0o644 });
  // Mosquitto started as root writes its database as its own user.
  if (extra.includes('persistence true')) chmodSync(dir, 0o777);
  const port = await freePort();
  const conf = writeConf(dir, port, [
    'allow_anonymous false',
    `password_file ${passwordFile}`,
    `acl_file ${aclFile}`,
    'log_type all',
    ...extra.map((line) => line.replace('$DIR', dir)),
  ]);
  const launch = (): Promise<BrokerProcess> =>
    kind === 'mosquitto'
      ? launchWith(findTool('mosquitto') ?? 'mosquitto', (c) => ['-c', c], conf, port)
      : launchWith(process.execPath, (c) => [CULEX_BIN, '-c', c], conf, port);
  let proc = await launch();
  let earlier = '';
  return {
    kind,
    port,
    dir,
    log: () => earlier + proc.log(),
    async reloadAcl(text: string) {
      writeFileSync(aclFile, text, { mode: 0o644 });
      const before = proc.log().length;
      proc.signal('SIGHUP');
      for (let i = 0; i < 200; i++) {
        if (/Reloading config\.|Config reloaded\.|reload failed/.test(proc.log().slice(before))) break;
        await sleep(25);
      }
      // Mosquitto logs before it reads the files again.
      await sleep(kind === 'mosquitto' ? 200 : 20);
    },
    async restart() {
      earlier += proc.log();
      await proc.stop();
      proc = await launch();
    },
    stop: () => proc.stop(),
  };
}

/** Which brokers to run against: Culex always, Mosquitto when installed (required on CI). */
export function kinds(): BrokerKind[] {
  if (findTool('mosquitto') !== undefined) return ['culex', 'mosquitto'];
  if (process.env.CI === 'true') throw new Error('mosquitto missing (required on CI)');
  return ['culex'];
}

/** Connects as `user` (its password from PASSWORDS unless given); throws unless the CONNACK accepts. */
export async function login(
  port: number,
  user: string,
  clientId: string,
  o: ConnectOptions = {},
): Promise<RawClient> {
  const { client, connack } = await RawClient.connect(port, {
    username: user,
    password: PASSWORDS[user] ?? '',
    clientId,
    ...o,
  });
  if (connack.reasonCode !== 0) throw new Error(`${user} refused: ${connack.reasonCode}`);
  return client;
}

/** Connects as `user` with Clean Session 0, whatever the CONNACK says (for Session Present checks). */
export function resume(
  port: number,
  user: string,
  clientId: string,
): Promise<{ client: RawClient; connack: ConnackPacket }> {
  return RawClient.connect(port, { username: user, password: PASSWORDS[user] ?? '', clientId, clean: false });
}

/** Subscribes, asserting the broker granted it. */
export async function sub(client: RawClient, filter: string, qos: QoS = 1): Promise<void> {
  const [code] = await subscribe(client, 1, [[filter, qos]]);
  if (code === undefined || code >= 0x80) throw new Error(`SUBSCRIBE ${filter} refused: ${code}`);
}

/** Publishes at QoS 1 and waits for the PUBACK. */
export async function publish1(
  client: RawClient,
  topic: string,
  payload: string,
  packetId: number,
  retain = false,
): Promise<void> {
  client.send({ type: 3, topic, payload: Buffer.from(payload), qos: 1, retain, dup: false, packetId });
  await client.nextOfType(4);
}

/** "topic=payload" of every PUBLISH received within `ms`, acknowledging them unless `ack` is false. */
export async function received(client: RawClient, ms: number, ack = true, atLeast = 0): Promise<string[]> {
  const packets = await client.collect(ms, atLeast);
  const out: string[] = [];
  for (const p of packets) {
    if (p.type !== 3) continue;
    out.push(`${p.topic}=${p.payload.toString()}`);
    if (ack && p.qos === 1) client.send({ type: 4, packetId: p.packetId, reasonCode: 0 });
  }
  return out;
}

export function publishes(packets: readonly Packet[]): PublishPacket[] {
  return packets.filter((p): p is PublishPacket => p.type === 3);
}

/** Closes the socket without DISCONNECT (an unclean end: the will goes out) and waits for the broker to see it. */
export async function drop(client: RawClient): Promise<void> {
  client.destroy();
  await sleep(150);
}

/** A DISCONNECT, then a pause for the broker to take it. */
export async function leave(client: RawClient): Promise<void> {
  client.disconnect();
  await sleep(100);
}
