// Whole HTTP answers as the http_api listener and the dashboard files write them: status, type, exact length.

import { createReadStream, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { contentType } from '../transport/static-files.js';

export function answer(
  res: ServerResponse,
  status: number,
  body: string,
  type: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

export function textAnswer(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  answer(res, status, body, 'text/plain; charset=utf-8', headers);
}

export function jsonAnswer(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  answer(res, status, JSON.stringify(value, null, '\t'), 'application/json', headers);
}

/** Streams a file found by resolveStaticPath with 200; a read error ends the response. */
export function fileAnswer(
  res: ServerResponse,
  file: string,
  headers: Readonly<Record<string, string>>,
): void {
  res.writeHead(200, {
    'content-type': contentType(file),
    'content-length': statSync(file).size,
    ...headers,
  });
  const stream = createReadStream(file);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}
