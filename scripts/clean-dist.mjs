// Removes dist/ (or only dist/<sub> given as an argument, e.g. `src` before a package build) so that a test or
// module deleted from the sources cannot linger as stale compiled JavaScript and still run or ship.
import { rmSync } from 'node:fs';

const sub = process.argv[2];
rmSync(new URL(sub === undefined ? '../dist' : `../dist/${sub}`, import.meta.url), {
  recursive: true,
  force: true,
});
