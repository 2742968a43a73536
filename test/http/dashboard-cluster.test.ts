// The dashboard's Cluster tab on a node of a real cluster (two in-process nodes on one redis-server) in headless
// Chromium: the table lists both nodes from GET /api/culex/v1/cluster/nodes, this one marked self. The
// "Not available" answer of a single broker is checked in dashboard.test.ts.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type Node, newPrefix, startNode, until } from '../cluster/fabric-helpers.js';
import { freePort } from '../helpers/net.js';
import { tempDir } from '../helpers/processes.js';
import { requireRedis, startRedis } from '../helpers/redis.js';
import { requireTool } from '../helpers/tools.js';
import { buildBundle } from './dashboard-broker.js';

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'cluster-dash-token-0123456789';
const skip = requireTool(CHROMIUM) || requireRedis();

test('dashboard Cluster tab: both nodes of a two-node cluster in its table', {
  skip,
  timeout: 60_000,
}, async () => {
  buildBundle();
  const { chromium } = (await import('playwright-core')) as typeof import('playwright-core');
  const redis = await startRedis();
  const tokens = join(tempDir('culex-cluster-dash-'), 'tokens');
  writeFileSync(tokens, `${TOKEN} admin ops\n`);
  const prefix = newPrefix();
  const nodes: Node[] = [];
  let httpPort = 0;
  const context = await chromium.launchPersistentContext(tempDir('culex-chromium-'), {
    executablePath: CHROMIUM,
    headless: true,
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
  try {
    for (const id of ['dash-a', 'dash-b']) {
      const http = await freePort();
      if (httpPort === 0) httpPort = http;
      nodes.push(
        await startNode(redis, id, prefix, [
          `listener ${http} 127.0.0.1`,
          'protocol http_api',
          `http_api_token_file ${tokens}`,
        ]),
      );
    }
    await until('dash-a to see dash-b', () => nodes[0]!.broker.cluster!.link.aliveNodes().length === 1);
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`http://127.0.0.1:${httpPort}/dashboard/`);
    await page.check('input[type=checkbox]');
    await page.fill('input[name=token]', TOKEN);
    await page.click('[data-testid=login]');
    await page.locator('[data-testid=who]', { hasText: 'token ops (admin)' }).waitFor({ timeout: 10_000 });
    await page.click('a[data-tab=cluster]');
    const panel = page.locator('section.panel', { has: page.locator('h2', { hasText: 'Cluster nodes' }) });
    const rows = panel.locator('table tbody tr');
    await rows.nth(1).waitFor({ timeout: 10_000 });
    const headers = await panel.locator('table thead th').allTextContents();
    assert.deepEqual(headers, ['node', 'self', 'alive', 'last_beat', 'clients']);
    const cells = async (i: number): Promise<string[]> =>
      (await rows.nth(i).locator('td').allTextContents()).slice(0, 3);
    assert.deepEqual(await cells(0), ['dash-a', 'true', 'true']);
    assert.deepEqual(await cells(1), ['dash-b', 'false', 'true']);
    assert.equal(await page.locator('[data-testid=not-available]').count(), 0);
  } finally {
    await context.close();
    for (const n of nodes) await n.broker.stop();
    await redis.stop();
  }
});
