// Seeds for randomised tests: TEST_SEED replays a run (FUZZ_SEED too, for the fuzzers), otherwise each run draws
// a fresh seed. The seed is printed as a TAP comment beside the test's result, so a failure shows how to replay it.

import fc from 'fast-check';
import { Rng } from '../fuzz/mutate.js';

export function testSeed(label: string): number {
  const given = process.env.TEST_SEED ?? process.env.FUZZ_SEED;
  const seed = given === undefined || given === '' ? Math.floor(Math.random() * 2 ** 31) : Number(given) | 0;
  process.stdout.write(`${label}: seed=${seed} (replay: TEST_SEED=${seed})\n`);
  return seed;
}

/** A reproducible random source for one test file. */
export function seededRng(label: string): Rng {
  return new Rng(testSeed(label));
}

/** Seeds every fast-check property of this file; fast-check's failure report repeats the seed and the path. */
export function seedFastCheck(label: string): void {
  fc.configureGlobal({ ...fc.readConfigureGlobal(), seed: testSeed(label) });
}
