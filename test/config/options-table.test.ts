// The option table covers every Mosquitto 2.0 option: each is implemented or refused by name.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { lookupOption, OPTION_TABLE, unsupportedOptionNames } from '../../src/config/options.js';
import { parseConfigText } from '../../src/config/parse.js';

const REFERENCE = '/work/shared/reference/mosquitto-2.0-options.txt';

function referenceNames(): string[] {
  const names = new Set<string>();
  for (const line of readFileSync(REFERENCE, 'utf8').split('\n')) {
    if (line === '' || line.startsWith('#') || line.startsWith('[')) continue;
    const name = line.split(' ')[0];
    if (name !== undefined) names.add(name);
  }
  return [...names];
}

test('every option of the Mosquitto 2.0 reference list is in the table', (t) => {
  if (!existsSync(REFERENCE)) {
    if (process.env.CI === 'true') assert.fail(`${REFERENCE} is missing`);
    t.skip('reference list not present');
    return;
  }
  const names = referenceNames();
  assert.ok(names.length > 100);
  const missing = names.filter((n) => lookupOption(n) === undefined);
  assert.deepEqual(missing, []);
  for (const extra of ['plugin', 'plugin_opt_anything', 'auth_opt_anything']) assert.ok(lookupOption(extra));
});

test('only OpenSSL engine and the Mosquitto 2.1 enable_control_api options are unsupported', () => {
  const unsupported = unsupportedOptionNames();
  const later21 = [
    'enable_control_api',
    'global_max_clients',
    'global_max_connections',
    'max_topic_alias_broker',
  ];
  for (const { name, reason } of unsupported) {
    if (!later21.includes(name)) assert.match(reason, /engines/, name);
    assert.throws(() => parseConfigText(`${name} x\n`, 'u.conf'), {
      message: new RegExp(`^u\\.conf:1: option "${name.replace('.', '\\.')}" is not supported yet by Culex`),
    });
  }
  assert.equal(OPTION_TABLE.get('listener')?.kind, 'supported');
});
