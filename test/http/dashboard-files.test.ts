// The dashboard's files on the http_api listener, without a browser: `/` and `/dashboard` redirect, index.html is
// never cached and the hashed bundle cached for good, with its content types and Content-Security-Policy; no path
// leads out of the bundle; with http_dir, `/` stays the operator's; a checkout without the bundle says how to build it.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { serveDashboard } from '../../src/http/dashboard-files.js';
import { freePort } from '../helpers/net.js';
import { tempDir } from '../helpers/processes.js';
import { startDashboardBroker } from './dashboard-broker.js';
import { httpRequest } from './http-client.js';

test('dashboard files: / and /dashboard lead to it, index.html never cached, hashed files for good, CSP, no way out of the bundle; http_dir keeps /', async () => {
  const siteDir = tempDir('culex-site-');
  writeFileSync(join(siteDir, 'index.html'), '<p>operator page</p>');
  const otherPort = await freePort();
  const { broker, httpPort } = await startDashboardBroker(
    [`listener ${otherPort} 127.0.0.1`, 'protocol http_api', `http_dir ${siteDir}`],
    [otherPort],
  );
  try {
    // Without http_dir: `/` leads to the dashboard; index.html is never cached, the hashed bundle for good.
    const root = await httpRequest(httpPort, '/');
    assert.equal(root.status, 302);
    assert.equal(root.headers.location, '/dashboard/');
    const index = await httpRequest(httpPort, '/dashboard/');
    assert.equal(index.status, 200);
    assert.match(String(index.headers['content-type']), /^text\/html/);
    assert.equal(index.headers['cache-control'], 'no-cache');
    assert.match(String(index.headers['content-security-policy']), /default-src 'self'/);
    const script = /src="\.\/([^"]+\.js)"/.exec(index.body)?.[1];
    assert.ok(script !== undefined, index.body);
    const js = await httpRequest(httpPort, `/dashboard/${script}`);
    assert.equal(js.status, 200);
    assert.match(String(js.headers['content-type']), /^text\/javascript/);
    assert.match(String(js.headers['cache-control']), /immutable/);
    assert.equal((await httpRequest(httpPort, '/dashboard/../pwfile')).status, 404);
    assert.equal(
      (await httpRequest(httpPort, '/api/culex/v1/clients')).status,
      401,
      'the data is not public',
    );

    assert.equal((await httpRequest(httpPort, '/dashboard')).headers.location, '/dashboard/');
    // With http_dir, `/` is the operator's (authenticated, as Mosquitto serves it); the dashboard stays under /dashboard/.
    const site = await httpRequest(otherPort, '/', { user: 'admin', password: 'secret' });
    assert.equal(site.status, 200);
    assert.equal(site.body, '<p>operator page</p>');
    assert.match(String(site.headers['content-type']), /^text\/html/);
    assert.equal((await httpRequest(otherPort, '/')).status, 401);
    assert.equal((await httpRequest(otherPort, '/dashboard/')).status, 200);
  } finally {
    await broker.stop();
  }
});

test('dashboard files: a checkout without the bundle answers 503 and says how to build it', async () => {
  const empty = tempDir('culex-nobundle-');
  const server = createServer((req, res) => serveDashboard(req.url ?? '/', res, empty));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as AddressInfo).port;
    const answer = await httpRequest(port, '/dashboard/');
    assert.equal(answer.status, 503);
    assert.match(answer.body, /npm run build/);
  } finally {
    server.close();
  }
});
