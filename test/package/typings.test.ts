// The published typings are product: a consumer importing `culex-mqtt` and `culex-mqtt/protocol` by name (the
// package's own "exports", resolved through self-reference) must type-check against the emitted declarations.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));

test('a consumer of the public typings (culex-mqtt, culex-mqtt/protocol) type-checks', () => {
  const tsc = `${root}node_modules/typescript/bin/tsc`;
  const result = spawnSync(process.execPath, [tsc, '-p', `${root}test/package/consumer/tsconfig.json`], {
    cwd: root,
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, `tsc failed:\n${result.stdout}${result.stderr}`);
});
