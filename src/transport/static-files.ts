// Serves the files of a WebSocket listener's `http_dir` over plain HTTP GET/HEAD on the same port.
// Paths resolve strictly inside the directory: no "..", no encoded separators, no symlink escapes.

import { createReadStream, realpathSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
};

/** The Content-Type of a file served by name, as browsers expect it (octet-stream for unknown suffixes). */
export function contentType(file: string): string {
  return TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

function reply(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/**
 * The file a URL path names inside `root`, or undefined when it is outside it, hidden behind an encoded
 * separator or NUL, or not a regular file. A directory gives its index.html.
 */
export function resolveStaticPath(root: string, urlPath: string): string | undefined {
  const rawPath = urlPath.split('?')[0]!.split('#')[0]!;
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\') || /%2f|%5c/i.test(rawPath)) return undefined;
  const segments = decoded.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) return undefined;
  let realRoot: string;
  try {
    realRoot = realpathSync(resolve(root));
  } catch {
    return undefined;
  }
  let path = join(realRoot, ...segments);
  try {
    // A symlink inside the directory must not lead out of it.
    path = realpathSync(path);
    if (path !== realRoot && !path.startsWith(realRoot + sep)) return undefined;
    if (statSync(path).isDirectory()) path = join(path, 'index.html');
    const real = realpathSync(path);
    if (!real.startsWith(realRoot + sep) || !statSync(real).isFile()) return undefined;
    return real;
  } catch {
    return undefined;
  }
}

/** Answers one HTTP request from `root` (or 404 everything when the listener has no http_dir). */
export function serveStatic(root: string | undefined, req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    reply(res, 405, 'Method not allowed\n');
    return;
  }
  const file = root === undefined ? undefined : resolveStaticPath(root, req.url ?? '/');
  if (file === undefined) {
    reply(res, 404, 'Not found\n');
    return;
  }
  const size = statSync(file).size;
  res.writeHead(200, {
    'content-type': contentType(file),
    'content-length': size,
    'x-content-type-options': 'nosniff',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = createReadStream(file);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}
