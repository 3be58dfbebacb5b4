import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';

/** The web routes' HTTP plumbing: bodies, answers, the built pages and assets. */

const MAX_BODY_BYTES = 16 * 1024;
/** Sent with every page, asset and answer: no framing, no sniffing, nothing loaded from elsewhere. */
export const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'; " +
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
};
const ASSET_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

/** A built page of the front-end, or a note to build it. */
export async function servePage(dir: string, file: string, res: ServerResponse): Promise<void> {
  const page = await readFile(join(dir, file)).catch(() => undefined);
  if (!page) {
    return html(
      res,
      503,
      '<!doctype html><p>The web pages are not built: run <code>npm run build</code>.</p>',
    );
  }
  html(res, 200, page.toString('utf8'));
}

/** A file under the front-end's `assets/`, by a plain name only (no path can leave the folder). */
export async function serveAsset(dir: string, name: string, res: ServerResponse): Promise<void> {
  const type = ASSET_TYPES[/\.[a-z]+$/.exec(name)?.[0] ?? ''];
  const content =
    type && /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(name)
      ? await readFile(join(dir, 'assets', name)).catch(() => undefined)
      : undefined;
  if (!type || !content) return json(res, 404, { error: 'not found' });
  res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': type, 'cache-control': 'no-cache' });
  res.end(content);
}

/** The request body, refused past 16 KiB: commands are short. */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The request body as bytes, or `too_large` as soon as it passes `maxBytes` (the rest is not read). */
export async function readBytes(req: IncomingMessage, maxBytes: number): Promise<Buffer | 'too_large'> {
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) return 'too_large';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) return 'too_large';
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The body as JSON, or undefined when it is not. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Answers with a JSON body. */
export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

/** Answers with an HTML page, never cached. */
export function html(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(body);
}

/** A 303 to another path on this server. */
export function redirect(res: ServerResponse, location: string): void {
  res.writeHead(303, { location });
  res.end();
}
