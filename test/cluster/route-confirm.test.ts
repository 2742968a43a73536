// Route confirmations (src/cluster/route-confirm.ts): a SUBACK held for a new route waits until every live node
// that answers has applied the announcement, a node that dies is not waited for, and a silent node holds it for
// the bound only (one warning). Answers are batched per turn, one per announcer, with its last number.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep, setImmediate as turn } from 'node:timers/promises';
import type { Logger } from '../../src/broker/logger.js';
import { RouteConfirmations } from '../../src/cluster/route-confirm.js';

function setup(boundMs = 10_000): {
  confirm: RouteConfirmations;
  answers: [string, number][];
  lines: string[];
} {
  const answers: [string, number][] = [];
  const lines: string[] = [];
  const logger: Logger = { enabled: () => true, log: (level, m) => lines.push(`${level}: ${m}`) };
  const confirm = new RouteConfirmations(boundMs, (to, seq) => answers.push([to, seq]), logger);
  return { confirm, answers, lines };
}

/** Whether `p` settled within a turn. */
async function settled(p: Promise<void> | undefined): Promise<boolean> {
  if (p === undefined) return true;
  let done = false;
  void p.then(() => {
    done = true;
  });
  await turn();
  return done;
}

test('only nodes that announced with a number are waited for', () => {
  const { confirm } = setup();
  confirm.applied('b', 7);
  assert.deepEqual([...confirm.targets(['a', 'b', 'c'])], ['b']);
  assert.equal(confirm.wait(confirm.next(), new Set()), undefined);
});

test('the wait ends once every target confirmed the number or a later one', async () => {
  const { confirm } = setup();
  confirm.applied('b', 1);
  confirm.applied('c', 1);
  const seq = confirm.next();
  const wait = confirm.wait(seq, confirm.targets(['b', 'c']));
  confirm.confirm('b', seq - 1);
  confirm.confirm('b', seq);
  assert.equal(await settled(wait), false, 'c has not answered');
  confirm.confirm('c', seq + 1);
  assert.equal(await settled(wait), true);
  // Already confirmed: nothing to wait for.
  assert.equal(confirm.wait(seq, confirm.targets(['b', 'c'])), undefined);
});

test('a node that dies is not waited for', async () => {
  const { confirm } = setup();
  confirm.applied('b', 1);
  const wait = confirm.wait(confirm.next(), confirm.targets(['b']));
  assert.equal(await settled(wait), false);
  confirm.forget('b');
  assert.equal(await settled(wait), true);
  assert.deepEqual([...confirm.targets(['b'])], []);
});

test('a silent node holds the wait for the bound only, with one warning', async () => {
  const { confirm, lines } = setup(20);
  confirm.applied('slow', 1);
  const first = confirm.wait(confirm.next(), confirm.targets(['slow']));
  const second = confirm.wait(confirm.next(), confirm.targets(['slow']));
  await sleep(60); // the bound's timers are unref'd: something must keep the loop alive
  assert.equal(await settled(first), true);
  assert.equal(await settled(second), true);
  assert.equal(confirm.timedOut, 2);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /^warning: Cluster: node slow did not confirm a route change within 20 ms/);
});

test('answers go once per turn, one per announcer, with its last number', async () => {
  const { confirm, answers } = setup();
  confirm.applied('b', 5);
  confirm.applied('b', 6);
  confirm.applied('c', 9);
  assert.deepEqual(answers, []);
  await turn();
  assert.deepEqual(answers, [
    ['b', 6],
    ['c', 9],
  ]);
});

test('close lets every waiting SUBACK go', async () => {
  const { confirm } = setup();
  confirm.applied('b', 1);
  const wait = confirm.wait(confirm.next(), confirm.targets(['b']));
  confirm.close();
  assert.equal(await settled(wait), true);
});
