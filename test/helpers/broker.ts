// Starts an in-process Culex Broker from the public library API on an ephemeral loopback port.

import { Broker, type BrokerInit } from '../../src/index.js';

export interface TestBroker {
  readonly broker: Broker;
  readonly port: number;
  stop(): Promise<void>;
}

export async function startBroker(init: BrokerInit = {}): Promise<TestBroker> {
  const options = { connectionMessages: false, ...init.options };
  const broker = new Broker({ ...init, options });
  const [listener] = await broker.listen([{ port: 0, host: '127.0.0.1' }]);
  if (listener === undefined) throw new Error('broker opened no listener');
  return { broker, port: listener.port, stop: () => broker.stop() };
}

/** Runs `body` against a fresh broker and always stops it. */
export async function withBroker<T>(init: BrokerInit, body: (b: TestBroker) => Promise<T>): Promise<T> {
  const b = await startBroker(init);
  try {
    return await body(b);
  } finally {
    await b.stop();
  }
}
