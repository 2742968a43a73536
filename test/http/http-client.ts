// An HTTP request over loopback that returns status, headers and body as text, for the HTTP API tests:
// HTTP basic (`user` / `password`), a bearer `token`, or a raw `authorization` header.

import { type IncomingHttpHeaders, request } from 'node:http';

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface HttpOptions {
  method?: string;
  user?: string;
  password?: string;
  token?: string;
  authorization?: string;
}

export function httpRequest(port: number, path: string, options: HttpOptions = {}): Promise<HttpAnswer> {
  const headers: Record<string, string> = {};
  if (options.user !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${options.user}:${options.password ?? ''}`).toString('base64')}`;
  }
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.authorization !== undefined) headers.authorization = options.authorization;
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** A JSON answer's body, after checking its status. */
export async function httpJson<T>(
  port: number,
  path: string,
  options: HttpOptions = {},
  status = 200,
): Promise<T> {
  const answer = await httpRequest(port, path, options);
  if (answer.status !== status)
    throw new Error(
      `${options.method ?? 'GET'} ${path}: ${answer.status} (expected ${status}): ${answer.body}`,
    );
  return JSON.parse(answer.body) as T;
}
