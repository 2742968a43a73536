// The web dashboard end to end in real headless Chromium (playwright-core driving Debian's chromium) against a
// Culex process (dashboard-broker.ts): a wrong password is refused; a signed-in admin sees an npm mqtt client
// appear and kicks it (the client gets DISCONNECT 0x98); the page's own MQTT client receives what a real
// mosquitto_pub sends and publishes what a real mosquitto_sub receives; subscriptions, sessions (an offline one
// shown and deleted), retained messages (one deleted) and a bridge (stopped and started) are browsed; the cluster
// panel says "not available"; the overview graphs the traffic; a bearer token signs in; a read-only user finds
// every change button off. Screenshots go to
// test-artifacts/dashboard-*.png (git-ignored) and are listed in the output; with CULEX_DOCS_SCREENSHOT=1 the
// overview, after half a minute of traffic, also to docs/dashboard.png.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { sleep, waitFor } from '../helpers/net.js';
import { tempDir } from '../helpers/processes.js';
import { findTool, requireTool } from '../helpers/tools.js';
import { ROOT, startDashboardBroker, TOKEN } from './dashboard-broker.js';
import { httpRequest } from './http-client.js';
import { leaveOfflineSession } from './users.js';

const ARTIFACTS = join(ROOT, 'test-artifacts');
const CHROMIUM = '/usr/bin/chromium';
/** CULEX_DOCS_SCREENSHOT=1: the overview, after more traffic, also becomes docs/dashboard.png. */
const DOCS_SHOT = process.env.CULEX_DOCS_SCREENSHOT === '1';
const skip = requireTool(CHROMIUM, 'mosquitto_pub', 'mosquitto_sub');

async function waitForAsync(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await condition()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

/** A child process with its output collected. */
function run(
  command: string,
  args: string[],
): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

test('dashboard: sign in, watch a client appear and kick it, MQTT over WebSocket both ways with mosquitto_pub/sub, retained browser', {
  skip,
  timeout: DOCS_SHOT ? 120_000 : 60_000,
}, async () => {
  const started = startDashboardBroker();
  const { chromium } = (await import('playwright-core')) as typeof import('playwright-core');
  const profile = tempDir('culex-chromium-');
  // Chromium starts while the broker does (each takes seconds on a loaded machine).
  const launched = chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1360, height: 860 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const [up, open] = await Promise.allSettled([started, launched]);
  if (up.status === 'rejected' || open.status === 'rejected') {
    if (up.status === 'fulfilled') await up.value.broker.stop();
    if (open.status === 'fulfilled') await open.value.close();
    throw up.status === 'rejected' ? up.reason : (open as PromiseRejectedResult).reason;
  }
  const { broker, httpPort, wsPort } = up.value;
  const context = open.value;
  const base = `http://127.0.0.1:${httpPort}`;
  const mosquittoArgs = ['-h', '127.0.0.1', '-p', String(broker.port), '-u', 'device', '-P', 'dev'];
  const traffic = await mqtt.connectAsync({
    host: '127.0.0.1',
    port: broker.port,
    clientId: 'dash-traffic',
    username: 'device',
    password: 'dev',
    reconnectPeriod: 0,
  });
  mkdirSync(ARTIFACTS, { recursive: true });
  const shots: string[] = [];
  let load: ReturnType<typeof setInterval> | undefined;
  const problems: string[] = [];
  const steps: string[] = [];
  let stepAt = Date.now();
  let stepName = 'sign-in';
  const step = (next: string): void => {
    steps.push(`${stepName} ${((Date.now() - stepAt) / 1000).toFixed(1)} s`);
    stepAt = Date.now();
    stepName = next;
  };
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      // 401 (the wrong password) and 404 (an endpoint this broker lacks) are answers the page shows.
      if (m.type() === 'error' && !/status of 40[14]/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    const shoot = async (name: string): Promise<void> => {
      const path = join(ARTIFACTS, `dashboard-${name}.png`);
      await page.screenshot({ path, fullPage: true });
      shots.push(path);
    };

    await page.goto(`${base}/`);
    assert.equal(new URL(page.url()).pathname, '/dashboard/');
    await page.fill('input[name=user]', 'admin');
    await page.fill('input[name=password]', 'wrong');
    await page.click('[data-testid=login]');
    await page.locator('[data-testid=login-error]', { hasText: 'Refused (401)' }).waitFor({ timeout: 5000 });
    await page.fill('input[name=password]', 'secret');
    await page.click('[data-testid=login]');
    await page.locator('[data-testid=chart-connections] canvas').waitFor({ timeout: 5000 });
    await page.locator('[data-testid=who]', { hasText: 'admin (admin)' }).waitFor({ timeout: 5000 });
    await page.locator('[data-testid=figure-connected]', { hasText: /^1$/ }).waitFor({ timeout: 5000 });
    // Traffic for the graphs from now on: a varying rate, received and sent (the client hears itself).
    await traffic.subscribeAsync('dash/load');
    let beat = 0;
    load = setInterval(() => {
      const n = 10 + 8 * Math.round(4 * (1 + Math.sin(beat++ / 5)));
      for (let j = 0; j < n; j++) traffic.publish('dash/load', `m${beat}-${j}`);
    }, 100);

    step('kick');
    // A client connects: it shows in the clients table; kicked from the page, it is told why and let go.
    const victim = await mqtt.connectAsync({
      host: '127.0.0.1',
      port: broker.port,
      clientId: 'dash-victim',
      username: 'device',
      password: 'dev',
      protocolVersion: 5,
      reconnectPeriod: 0,
    });
    let reason: number | undefined;
    let closed = false;
    victim.on('disconnect', (packet) => (reason = packet.reasonCode));
    victim.on('close', () => (closed = true));
    await page.click('a[data-tab=clients]');
    const row = page.locator('tr[data-client=dash-victim]');
    await row.waitFor({ timeout: 5000 });
    const cells = await row.locator('td').allTextContents();
    assert.deepEqual(cells.slice(0, 3), ['dash-victim', 'connected', 'device']);
    assert.match(cells[3] ?? '', /^127\.0\.0\.1:\d+$/);
    await page.fill('[data-testid=client-search]', 'victim');
    await page.locator('tr[data-client=dash-traffic]').waitFor({ state: 'detached', timeout: 5000 });
    await shoot('clients');
    await page.click('[data-testid=kick-dash-victim]');
    await page.click('[data-testid=kick-dash-victim]');
    assert.ok(await waitFor(() => closed, 5000), 'the kicked client is disconnected');
    assert.equal(reason, 0x98, 'MQTT 5 DISCONNECT Administrative action');
    assert.match(broker.log(), /HTTP API: admin from 127\.0\.0\.1 disconnected client dash-victim\./);
    await row.waitFor({ state: 'detached', timeout: 5000 });

    // The page's MQTT client over the WebSocket listener: what mosquitto_pub sends arrives on the page.
    await page.click('a[data-tab=mqtt]');
    step('mqtt-in');
    // The URL is prefilled from /api/v1/listeners with the WebSocket listener's port.
    assert.ok(
      await waitForAsync(async () =>
        (await page.inputValue('[data-testid=mqtt-url]')).includes(`:${wsPort}/`),
      ),
      await page.inputValue('[data-testid=mqtt-url]'),
    );
    // A wrong MQTT password: the broker's refusal shows, and the client stays disconnected.
    await page.fill('[data-testid=mqtt-password]', 'wrong');
    await page.click('[data-testid=mqtt-connect]');
    await page
      .locator('[data-testid=mqtt-error] .error', { hasText: /Not authorized|Bad User Name or Password/ })
      .waitFor({ timeout: 5000 });
    await page.locator('[data-testid=mqtt-state]', { hasText: /^disconnected$/ }).waitFor({ timeout: 5000 });
    await page.fill('[data-testid=mqtt-password]', 'secret');
    await page.click('[data-testid=mqtt-connect]');
    await page.locator('[data-testid=mqtt-state]', { hasText: /^connected$/ }).waitFor({ timeout: 5000 });
    await page.fill('[data-testid=mqtt-filter]', 'dash/in');
    await page.click('[data-testid=mqtt-subscribe]');
    await page.locator('[data-testid=mqtt-subscriptions]', { hasText: 'dash/in' }).waitFor({ timeout: 5000 });
    const pub = run(findTool('mosquitto_pub')!, [
      ...mosquittoArgs,
      '-q',
      '1',
      '-t',
      'dash/in',
      '-m',
      'from mosquitto_pub',
    ]);
    assert.equal(await pub.exited, 0, pub.output());
    await page
      .locator('[data-testid=mqtt-messages]', { hasText: 'from mosquitto_pub' })
      .waitFor({ timeout: 5000 });

    step('mqtt-out');
    // ...and what the page publishes reaches a real mosquitto_sub.
    const sub = run(findTool('mosquitto_sub')!, [
      ...mosquittoArgs,
      '-i',
      'dash-sub',
      '-v',
      '-C',
      '1',
      '-W',
      '10',
      '-t',
      'dash/out',
    ]);
    // Its stdout is a pipe (buffered), so the broker tells when it has subscribed.
    const subscribed = async (): Promise<boolean> => {
      const a = await httpRequest(httpPort, '/api/culex/v1/clients/dash-sub', {
        user: 'admin',
        password: 'secret',
      });
      return a.status === 200 && (JSON.parse(a.body) as { subscriptions: number }).subscriptions === 1;
    };
    assert.ok(await waitForAsync(subscribed), sub.output());
    await page.fill('[data-testid=mqtt-topic]', 'dash/out');
    await page.fill('[data-testid=mqtt-payload]', 'from the dashboard');
    await page.click('[data-testid=mqtt-publish]');
    assert.equal(await sub.exited, 0, sub.output());
    assert.match(sub.output(), /^dash\/out from the dashboard$/m);
    await shoot('mqtt-client');

    step('subscriptions');
    // The subscription browser shows the page's own subscription.
    await page.click('a[data-tab=subscriptions]');
    await page.locator('[data-testid=subscriptions] tr', { hasText: 'dash/in' }).waitFor({ timeout: 5000 });
    await page.selectOption('main select', 'topic');
    await page.fill('[data-testid=subscription-query]', 'dash/other');
    await page.press('[data-testid=subscription-query]', 'Enter');
    await page.getByText('No subscriptions match.').waitFor({ timeout: 5000 });
    await page.fill('[data-testid=subscription-query]', 'dash/in');
    await page.press('[data-testid=subscription-query]', 'Enter');
    await page.locator('[data-testid=subscriptions] tr', { hasText: 'dash/in' }).waitFor({ timeout: 5000 });

    step('sessions');
    // An offline session: listed, its details (subscriptions) shown, deleted from the page.
    await leaveOfflineSession(
      broker.port,
      'dash-offline',
      { username: 'device', password: 'dev' },
      'dash/offline/#',
    );
    await page.click('a[data-tab=sessions]');
    const offline = page.locator('tr[data-client=dash-offline]');
    await offline.waitFor({ timeout: 5000 });
    assert.equal((await offline.locator('td').allTextContents())[1], 'offline');
    await shoot('sessions');
    await offline.locator('td').first().click();
    const detail = page.locator('[data-testid=client-detail]');
    await detail.locator('td', { hasText: 'dash/offline/#' }).waitFor({ timeout: 5000 });
    assert.match((await detail.textContent()) ?? '', /session expiry interval3600 s/);
    await shoot('client-detail');
    await page.click('button:has-text("Delete session")');
    await page.click('button:has-text("Confirm delete session")');
    await page.getByText('Session deleted.').waitFor({ timeout: 5000 });
    const gone = await httpRequest(httpPort, '/api/culex/v1/clients/dash-offline', {
      user: 'admin',
      password: 'secret',
    });
    assert.equal(gone.status, 404);
    assert.match(
      broker.log(),
      /HTTP API: admin from 127\.0\.0\.1 deleted the session of client dash-offline\./,
    );

    step('retained');
    // Retained messages: browsed by filter, deleted from the page.
    const retain = run(findTool('mosquitto_pub')!, [
      ...mosquittoArgs,
      '-r',
      '-t',
      'dash/retained',
      '-m',
      'kept',
    ]);
    assert.equal(await retain.exited, 0, retain.output());
    await page.click('a[data-tab=retained]');
    await page.fill('[data-testid=retained-filter]', 'dash/#');
    await page.press('[data-testid=retained-filter]', 'Enter');
    const kept = page.locator('[data-testid=retained-table] tr', { hasText: 'dash/retained' });
    await kept.waitFor({ timeout: 5000 });
    assert.deepEqual((await kept.locator('td').allTextContents()).slice(0, 4), [
      'dash/retained',
      '0',
      '4',
      'kept',
    ]);
    await shoot('retained');
    await kept.getByRole('button').click();
    await kept.getByRole('button').click();
    await kept.waitFor({ state: 'detached', timeout: 5000 });
    const left = await httpRequest(httpPort, '/api/culex/v1/retained?filter=dash/%23', {
      user: 'admin',
      password: 'secret',
    });
    assert.equal((JSON.parse(left.body) as { total: number }).total, 0);

    step('bridges');
    // Bridges: the configured one (its remote is down), stopped and started from the page.
    await page.click('a[data-tab=bridges]');
    const bridge = page.locator('tr[data-bridge=b1]');
    await bridge.waitFor({ timeout: 5000 });
    await bridge.getByRole('button', { name: 'Stop' }).click();
    await bridge.getByRole('button', { name: 'Confirm stop' }).click();
    await bridge.locator('td', { hasText: /^stopped$/ }).waitFor({ timeout: 5000 });
    assert.match(broker.log(), /HTTP API: admin from 127\.0\.0\.1 stopped bridge b1\./);
    await shoot('bridges');
    await bridge.getByRole('button', { name: 'Start' }).click();
    await bridge.getByRole('button', { name: 'Confirm start' }).click();
    await bridge.locator('td', { hasText: /^stopped$/ }).waitFor({ state: 'detached', timeout: 5000 });
    assert.match(broker.log(), /HTTP API: admin from 127\.0\.0\.1 started bridge b1\./);

    step('cluster');
    // Cluster nodes: this broker has no such endpoint, and the panel says so.
    await page.click('a[data-tab=cluster]');
    await page.locator('[data-testid=not-available]').waitFor({ timeout: 5000 });

    step('overview');
    // The overview has graphed the traffic since sign-in: the message rate is read from $SYS counters.
    // For docs/dashboard.png, half a minute of history in the graphs.
    if (DOCS_SHOT) await sleep(30_000);
    await page.click('a[data-tab=overview]');
    await page.locator('[data-testid=chart-messages] canvas').waitFor({ timeout: 5000 });
    assert.ok(
      await waitForAsync(async () => Number(await page.textContent('[data-testid=figure-received]')) > 0),
      'messages in / s',
    );
    await shoot('overview');
    if (DOCS_SHOT) copyFileSync(shots.at(-1)!, join(ROOT, 'docs/dashboard.png'));

    step('token');
    // Signed in again with a bearer token of http_api_token_file instead of a password.
    await page.click('button:has-text("Sign out")');
    await page.check('input[type=checkbox]');
    await page.fill('input[name=token]', TOKEN);
    await page.click('[data-testid=login]');
    await page
      .locator('[data-testid=who]', { hasText: 'token dashboard-test (admin)' })
      .waitFor({ timeout: 5000 });
    await page.click('a[data-tab=clients]');
    await page.locator('tr[data-client=dash-traffic]').waitFor({ timeout: 5000 });
    assert.equal(await page.isEnabled('[data-testid=kick-dash-traffic]'), true);

    step('viewer');
    // A read-only user sees everything, and every change button is off.
    await page.click('button:has-text("Sign out")');
    await page.fill('input[name=user]', 'viewer');
    await page.fill('input[name=password]', 'view');
    await page.click('[data-testid=login]');
    await page.locator('[data-testid=who]', { hasText: 'viewer (read)' }).waitFor({ timeout: 5000 });
    await page.click('a[data-tab=clients]');
    await page.locator('tr[data-client=dash-traffic]').waitFor({ timeout: 5000 });
    assert.equal(await page.isDisabled('[data-testid=kick-dash-traffic]'), true);

    assert.deepEqual(problems, [], 'no script errors or CSP violations in the page');
    step('end');
    console.log(`dashboard steps: ${steps.join(', ')}`);
    console.log(`dashboard screenshots:\n${shots.map((s) => `  ${s}`).join('\n')}`);
  } catch (e) {
    const path = join(ARTIFACTS, 'dashboard-failure.png');
    await context.pages()[0]?.screenshot({ path, fullPage: true });
    console.log(`failure screenshot: ${path}\n${problems.join('\n')}`);
    throw e;
  } finally {
    clearInterval(load);
    traffic.end(true);
    await context.close();
    await broker.stop();
  }
});
