// Start-up with a bad or unusual configuration: culex exits with the status the real mosquitto 2.0.11 exits with
// and writes the same lines (timestamps and the product name aside). Both run the very same file.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { canConnect, freePort, sleep, waitFor } from '../helpers/net.js';
import { CULEX_BIN, startFromConf, tempDir } from '../helpers/processes.js';
import { start } from '../helpers/run.js';
import { findTool, requireTool } from '../helpers/tools.js';

const skip = requireTool('mosquitto');
const MOSQUITTO = findTool('mosquitto') ?? 'mosquitto';

interface Outcome {
  /** Exit status, or 'running' when the broker was still up after `settleMs`. */
  status: number | 'running';
  lines: string[];
}

/** Drops the timestamp and makes the product names and versions alike. */
function normalise(output: string): string[] {
  return output
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.replace(/^\d+: /, '').replace(/^(mosquitto|culex) version \S+/, 'BROKER version V'));
}

/**
 * Runs a broker until it exits or, when it should keep running, until `port` accepts connections (then stops it):
 * waiting for the port rather than a fixed time keeps the test right on a loaded machine.
 */
async function runBroker(kind: 'mosquitto' | 'culex', args: string[], port?: number): Promise<Outcome> {
  const running =
    kind === 'mosquitto' ? start(MOSQUITTO, args) : start(process.execPath, [CULEX_BIN, ...args]);
  let exited = false;
  void running.done.then(() => (exited = true));
  let up = false;
  if (port !== undefined) {
    for (let i = 0; i < 200 && !exited && !up; i++) {
      up = await canConnect(port);
      if (!up) await sleep(25);
    }
  }
  let stopped = false;
  if (up) {
    // The lines logged around the first accept are out by now; give stderr a moment to drain. A broker that
    // exits by itself meanwhile was only briefly up (a later listener failed): its status is what counts.
    await sleep(100);
    if (!exited) {
      stopped = true;
      running.child.kill('SIGTERM');
    }
  }
  const result = await running.done;
  return { status: stopped ? 'running' : (result.status ?? -1), lines: normalise(result.stderr) };
}

async function both(text: (port: number, dir: string) => string): Promise<[Outcome, Outcome, string]> {
  const dir = tempDir('culex-startup-');
  const port = await freePort();
  const conf = join(dir, 'broker.conf');
  writeFileSync(conf, text(port, dir));
  const mosquitto = await runBroker('mosquitto', ['-c', conf], port);
  const culex = await runBroker('culex', ['-c', conf], port);
  return [mosquitto, culex, conf];
}

test('an unknown option exits 3 with "Unknown configuration variable" and the line, as mosquitto', {
  skip,
}, async () => {
  const [m, c] = await both((p) => `listener ${p} 127.0.0.1\nno_such_option 1\n`);
  assert.equal(m.status, 3);
  assert.deepEqual(c, m);
});

test('a missing configuration file exits 3, as mosquitto', { skip }, async () => {
  const m = await runBroker('mosquitto', ['-c', '/nonexistent/culex-test.conf']);
  const c = await runBroker('culex', ['-c', '/nonexistent/culex-test.conf']);
  assert.equal(m.status, 3);
  assert.deepEqual(c, m);
});

test('a bad flag exits 3, as mosquitto', { skip }, async () => {
  const m = await runBroker('mosquitto', ['-p']);
  const c = await runBroker('culex', ['-p']);
  assert.equal(m.status, 3);
  assert.deepEqual(c, m);
});

test('a bad value exits 3, as mosquitto (Culex words the reason its own way)', { skip }, async () => {
  const [m, c] = await both((p) => `listener ${p} 127.0.0.1\nmax_qos 5\n`);
  assert.equal(m.status, 3);
  assert.equal(c.status, 3);
  assert.match(c.lines.join('\n'), /max_qos/);
});

test("a password file that cannot be opened exits 13 with mosquitto's two lines", { skip }, async () => {
  const [m, c] = await both((p, d) => `listener ${p} 127.0.0.1\npassword_file ${d}/missing\n`);
  assert.equal(m.status, 13);
  assert.deepEqual(c, m);
});

test("an ACL file that cannot be opened exits 13 with mosquitto's two lines", { skip }, async () => {
  const [m, c] = await both(
    (p, d) => `listener ${p} 127.0.0.1\nallow_anonymous true\nacl_file ${d}/missing\n`,
  );
  assert.equal(m.status, 13);
  assert.deepEqual(c, m);
});

test('a port already in use exits 1 with "Error: Address already in use"', { skip }, async () => {
  const [m, c] = await both((p) => `listener ${p} 127.0.0.1\nlistener ${p} 127.0.0.1\n`);
  assert.equal(m.status, 1);
  assert.equal(c.status, 1);
  assert.equal(c.lines.at(-1), m.lines.at(-1));
  assert.equal(m.lines.at(-1), 'Error: Address already in use');
});

test('a pid file that cannot be written exits 1, as mosquitto', { skip }, async () => {
  const [m, c] = await both((p, d) => `listener ${p} 127.0.0.1\npid_file ${d}/missing/dir/pid\n`);
  assert.equal(m.status, 1);
  assert.deepEqual(c, m);
});

test('a log file that cannot be opened is reported on stderr; the broker goes on logging errors only', {
  skip,
}, async () => {
  const [m, c] = await both(
    (p, d) => `listener ${p} 127.0.0.1\nlog_dest file ${d}/missing/dir/broker.log\nlog_type all\n`,
  );
  assert.equal(m.status, 'running');
  assert.deepEqual(c, m);
  assert.match(m.lines[0] ?? '', /^Error: Unable to open log file .*broker\.log for writing\.$/);
});

test('retry_interval, allow_duplicate_messages, port, bind_address: the same remarks before start', {
  skip,
}, async () => {
  const [m, c] = await both(
    (p) =>
      `retry_interval 20\nretry_interval\nallow_duplicate_messages false\nport ${p}\nbind_address 127.0.0.1\n`,
  );
  assert.equal(m.status, 'running');
  assert.equal(c.status, 'running');
  const before = (o: Outcome): string[] => o.lines.slice(0, o.lines.indexOf('BROKER version V starting'));
  assert.equal(before(m).length, 5);
  assert.deepEqual(before(c), before(m));
});

test('unusable password-file entries are logged as mosquitto logs them, at start and after SIGHUP', {
  skip,
}, async () => {
  const dir = tempDir('culex-pwfile-');
  const good =
    '$7$101$gRdFn6bw1sCLfddG$5Fq/Z+EPDKYSXlD8qn25MJztUxnRclNzfJ1UsodUec1XPOww9rIZZPhUu4/coFxZ0mjAqg8Ks59oyYfgeIZQUQ==';
  const pw = join(dir, 'passwords');
  writeFileSync(
    pw,
    `good:${good}\nnocolon\nbad:$7$xyz\nbad2:$6$abc$def\nbad3:plain\n:$6$abc\nempty:\n :x\nlast:`,
    { mode: 0o644 },
  );
  const port = await freePort();
  const conf = join(dir, 'broker.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\npassword_file ${pw}\n`);
  const lines = async (kind: 'mosquitto' | 'culex'): Promise<string[]> => {
    const broker = await startFromConf(kind, conf, port);
    const wanted = (): string[] => normalise(broker.log()).filter((l) => /password file|for user/.test(l));
    try {
      // Generous bounds: on a loaded machine a broker may take seconds to get to the signal.
      await waitFor(() => wanted().length >= 7, 10_000);
      broker.signal('SIGHUP');
      await waitFor(() => wanted().length >= 14, 10_000);
      await sleep(100);
    } finally {
      // How it ended, for the failure message: a broker gone before the signal shows it here.
      ended[kind] = `${broker.exitStatus() ?? 'running'}\n${broker.log()}`;
      await broker.stop();
    }
    return wanted();
  };
  const ended: Record<string, string> = {};
  const m = await lines('mosquitto');
  const c = await lines('culex');
  assert.equal(m.length, 14, m.join('\n'));
  assert.deepEqual(c, m, `culex: ${ended.culex}`);
});
