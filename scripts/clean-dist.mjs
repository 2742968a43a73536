// Removes dist/ before a build, so that a test or module deleted from the sources cannot linger as stale
// compiled JavaScript and still run.
import { rmSync } from 'node:fs';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
