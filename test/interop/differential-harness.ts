// Runs groups of scripted conversations against the real mosquitto and Culex's CLI, each group under one
// mosquitto.conf shared by both brokers, and compares the transcripts byte for byte. Conversations of a group run
// concurrently (each uses its own client ids and topics) so that a few hundred of them stay within seconds.

import assert from 'node:assert/strict';
import { pbkdf2Sync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Script, transcript } from '../helpers/conversation.js';
import { freePort } from '../helpers/net.js';
import { type BrokerProcess, startFromConf, tempDir, writeConf } from '../helpers/processes.js';
import { requireTool } from '../helpers/tools.js';

export interface DiffCase {
  readonly name: string;
  readonly script: Script;
  /** Compare as multisets (e.g. retained messages of several topics, whose order is unspecified). */
  readonly unordered?: boolean;
}

/** Hex of "auto-" and the 36 characters of a random UUID after it, in either broker's assigned identifiers. */
const ASSIGNED_ID = /6175746f2d(?:3[0-9]|4[1-6]|2d){36}/g;

/** Random parts of a transcript (assigned client identifiers) replaced by a fixed mark. */
function normalize(lines: readonly string[]): string[] {
  return lines.map((l) => l.replace(ASSIGNED_ID, '6175746f2d<uuid>'));
}

export interface DiffGroup {
  readonly title: string;
  /** Configuration lines after the listener; `files` are written next to the file and named by `{dir}`. */
  readonly conf: readonly string[];
  readonly files?: Readonly<Record<string, string>>;
  readonly cases: readonly DiffCase[];
}

/** A password-file line for `user` / `password` in Mosquitto's `$7$` format (fixed salt: reproducible). */
export function passwordLine(user: string, password: string): string {
  const salt = Buffer.alloc(12, 7);
  const digest = pbkdf2Sync(password, salt, 101, 64, 'sha512');
  return `${user}:$7$101$${salt.toString('base64')}$${digest.toString('base64')}`;
}

/** How many conversations of a group run at once. */
const CONCURRENCY = 24;

interface Outcome {
  readonly theirs: string[];
  readonly ours: string[];
}

/** Totals over every differential suite of this process, printed at the end with DIFF_VERBOSE=1. */
const totals = { compared: 0, differ: 0 };

/**
 * Registers one test per case. `known` gives, for a case name ("group: case"), the documented reason it differs
 * (docs/compatibility.md); such cases must still differ, every other case must match exactly.
 */
export function differentialSuite(
  groups: readonly DiffGroup[],
  known: (name: string) => string | undefined,
): void {
  const skip = requireTool('mosquitto');
  const outcomes = new Map<string, Outcome>();
  const running: BrokerProcess[] = [];

  before(async () => {
    if (skip !== false) return;
    await Promise.all(groups.map((g) => runGroup(g, outcomes, running)));
  });
  after(async () => {
    await Promise.all(running.map((b) => b.stop()));
    if (process.env.DIFF_VERBOSE === '1')
      process.stdout.write(`# differential: ${totals.compared} compared, ${totals.differ} differ\n`);
  });

  for (const g of groups) {
    for (const c of g.cases) {
      const name = `${g.title}: ${c.name}`;
      test(`differential vs mosquitto: ${name}`, { skip }, () => {
        const o = outcomes.get(name);
        assert.ok(o !== undefined, 'conversation did not run');
        const ours = c.unordered === true ? [...o.ours].sort() : o.ours;
        const theirs = c.unordered === true ? [...o.theirs].sort() : o.theirs;
        const reason = known(name);
        if (reason !== undefined) {
          assert.notDeepEqual(ours, theirs, `documented difference no longer observed: ${reason}`);
          return;
        }
        assert.deepEqual(ours, theirs);
      });
    }
  }
}

async function runGroup(
  g: DiffGroup,
  outcomes: Map<string, Outcome>,
  running: BrokerProcess[],
): Promise<void> {
  const dir = tempDir('culex-diff-');
  for (const [file, text] of Object.entries(g.files ?? {})) writeFileSync(join(dir, file), text);
  const lines = g.conf.map((l) => l.replaceAll('{dir}', dir));
  const start = async (kind: 'mosquitto' | 'culex'): Promise<BrokerProcess> => {
    const port = await freePort();
    const b = await startFromConf(kind, writeConf(dir, port, ['log_type none', ...lines]), port);
    running.push(b);
    return b;
  };
  const [mosquitto, culex] = await Promise.all([start('mosquitto'), start('culex')]);
  const queue = [...g.cases];
  const worker = async (): Promise<void> => {
    for (let c = queue.shift(); c !== undefined; c = queue.shift()) {
      const [theirs, ours] = (
        await Promise.all([transcript(mosquitto.port, c.script), transcript(culex.port, c.script)])
      ).map(normalize) as [string[], string[]];
      const name = `${g.title}: ${c.name}`;
      outcomes.set(name, { theirs, ours });
      totals.compared++;
      const same =
        JSON.stringify(c.unordered ? [...ours].sort() : ours) ===
        JSON.stringify(c.unordered ? [...theirs].sort() : theirs);
      if (!same) totals.differ++;
      if (process.env.DIFF_VERBOSE === '1' && (!same || process.env.DIFF_ALL === '1'))
        process.stdout.write(
          `# ${same ? 'same' : 'DIFF'} ${name}\n#  mosquitto: ${theirs.join(' | ')}\n#  culex:     ${ours.join(' | ')}\n`,
        );
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}
