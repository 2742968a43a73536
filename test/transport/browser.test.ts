// A real browser (headless Chromium via playwright-core) loads a page from a WebSocket listener's http_dir,
// connects back over WebSocket with the browser build of the npm mqtt client, and receives its own message.

import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { Broker } from '../../src/index.js';
import { tempDir } from '../helpers/processes.js';
import { requireTool } from '../helpers/tools.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = requireTool(CHROMIUM);

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><script src="mqtt.min.js"></script></head>
<body><script>
  window.result = new Promise((resolve) => {
    const client = mqtt.connect('ws://' + location.host + '/mqtt', { clientId: 'browser-1', reconnectPeriod: 0 });
    client.on('error', (e) => resolve('error: ' + e.message));
    client.on('connect', () => {
      client.subscribe('browser/echo', { qos: 1 }, (err) => {
        if (err) return resolve('subscribe error');
        client.publish('browser/echo', 'hello from chromium', { qos: 1 });
      });
    });
    client.on('message', (topic, payload) => { resolve(topic + '=' + payload.toString()); client.end(); });
  });
</script></body></html>`;

test('Browser: Chromium page from http_dir uses mqtt.min.js over WebSocket to publish and receive', {
  skip,
  timeout: 60_000,
}, async () => {
  const require = createRequire(import.meta.url);
  const { chromium } = (await import('playwright-core')) as typeof import('playwright-core');
  const dir = tempDir('culex-browser-');
  copyFileSync(
    join(require.resolve('mqtt/package.json'), '..', 'dist', 'mqtt.min.js'),
    join(dir, 'mqtt.min.js'),
  );
  writeFileSync(join(dir, 'index.html'), PAGE);
  const broker = new Broker({ options: { connectionMessages: false } });
  const seen: string[] = [];
  broker.on('clientConnected', (c: { clientId: string }) => seen.push(c.clientId));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const [l] = await broker.listen([{ port: 0, host: '127.0.0.1', protocol: 'websockets', httpDir: dir }]);
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${l!.port}/`);
    const result = await page.evaluate(() => (globalThis as unknown as { result: Promise<string> }).result);
    assert.equal(result, 'browser/echo=hello from chromium');
    assert.deepEqual(seen, ['browser-1']);
  } finally {
    await browser.close();
    await broker.stop();
  }
});
