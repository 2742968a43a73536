// The web dashboard's files on the http_api listener, under /dashboard/: the bundle esbuild made at build time
// (dist/dashboard, scripts/build-dashboard.mjs). They are served without authentication, as they hold no data
// (the same code as the npm package); every figure the page shows comes from the authenticated API. Hashed
// asset names are cached for good, index.html never, and the page may talk only to this listener and to
// WebSocket listeners (Content-Security-Policy).

import type { ServerResponse } from 'node:http';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveStaticPath } from '../transport/static-files.js';
import { fileAnswer, textAnswer } from './http-answers.js';

export const DASHBOARD_PREFIX = '/dashboard/';

/** dist/dashboard, seen from this compiled file (dist/src/http/dashboard-files.js), in a checkout and in the npm package. */
const BUNDLE_DIR = fileURLToPath(new URL('../../dashboard/', import.meta.url));

/** esbuild's `[name]-[hash]` file names: their content never changes under the same name. */
const HASHED = /-[A-Z0-9]{8}\.(js|css)$/;

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " +
    "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/** A redirect to the dashboard (from `/dashboard`, or from `/` when the listener has no http_dir). */
export function redirectToDashboard(res: ServerResponse): void {
  textAnswer(res, 302, `See ${DASHBOARD_PREFIX}\n`, {
    location: DASHBOARD_PREFIX,
    'cache-control': 'no-cache',
  });
}

/** Answers a GET under DASHBOARD_PREFIX from the bundle. */
export function serveDashboard(path: string, res: ServerResponse, bundleDir: string = BUNDLE_DIR): void {
  const file = resolveStaticPath(bundleDir, path.slice(DASHBOARD_PREFIX.length - 1));
  if (file === undefined) {
    const built = resolveStaticPath(bundleDir, '/index.html') !== undefined;
    textAnswer(
      res,
      built ? 404 : 503,
      built
        ? 'Not found.\n'
        : 'The dashboard is not built: run `npm run build` (scripts/build-dashboard.mjs).\n',
    );
    return;
  }
  fileAnswer(res, file, {
    'cache-control': HASHED.test(basename(file)) ? 'public, max-age=31536000, immutable' : 'no-cache',
    ...SECURITY_HEADERS,
  });
}
