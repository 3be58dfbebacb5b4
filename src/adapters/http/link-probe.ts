import { type LookupAddress, type LookupOptions, lookup } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { Agent, errors, request } from 'undici';
import type { LinkProbe } from '../../core/ports.js';
import type { LinkProblem } from '../../core/source-link.js';

/** Redirects followed at most, each one checked like the first link. */
export const MAX_PROBE_REDIRECTS = 3;

export interface LinkProbeOptions {
  /** The whole look, redirects included, takes at most this long. */
  timeoutMs: number;
  /** Allow loopback and private addresses (an on-premise setup whose images live on the local network). */
  allowPrivate: boolean;
  /** Certificates to trust besides the system's (a test's own https server). */
  ca?: string;
}

/**
 * The addresses a link may not lead to: loopback, private (RFC 1918, fc00::/7), link-local, CGNAT, unspecified,
 * multicast and reserved. A link to one is someone asking the bot to look inside its own network.
 */
const BLOCKED = (() => {
  const list = new BlockList();
  const v4: Array<[string, number]> = [
    ['0.0.0.0', 8],
    ['10.0.0.0', 8],
    ['100.64.0.0', 10],
    ['127.0.0.0', 8],
    ['169.254.0.0', 16],
    ['172.16.0.0', 12],
    ['192.168.0.0', 16],
    ['224.0.0.0', 4],
    ['240.0.0.0', 4],
  ];
  for (const [net, prefix] of v4) list.addSubnet(net, prefix, 'ipv4');
  const v6: Array<[string, number]> = [
    ['::', 128],
    ['::1', 128],
    ['fc00::', 7],
    ['fe80::', 10],
    ['ff00::', 8],
  ];
  for (const [net, prefix] of v6) list.addSubnet(net, prefix, 'ipv6');
  return list;
})();

/** Whether a link may not reach `address` (v4, v6, or v4 mapped into v6 as `::ffff:a.b.c.d` or `::ffff:xxxx:xxxx`). */
export function isBlockedAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').toLowerCase();
  const family = isIP(bare);
  if (family === 4) return BLOCKED.check(bare, 'ipv4');
  if (family !== 6) return true;
  const mapped = mappedV4(bare);
  return mapped ? BLOCKED.check(mapped, 'ipv4') : BLOCKED.check(bare, 'ipv6');
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:0:0/96), if it is one. */
function mappedV4(v6: string): string | undefined {
  const dotted = /^(?:0{0,4}:){0,4}:?(?:0{0,4}:)?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(v6);
  if (dotted && isIP(dotted[1]!) === 4) return dotted[1];
  const hex = /^(?:0{0,4}:){0,4}:?(?:0{0,4}:)?ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v6);
  if (!hex) return undefined;
  const high = Number.parseInt(hex[1]!, 16);
  const low = Number.parseInt(hex[2]!, 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/** Raised by the agent's lookup when a name resolves to an address links may not reach. */
class PrivateAddressError extends Error {
  readonly code = 'ELORABOT_PRIVATE_ADDRESS';
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A DNS lookup that refuses a name resolving to a blocked address. The agent connects to the address this returns,
 * so the address checked is the address used: a name that resolves differently a moment later cannot swap it.
 */
function filteringLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    if (addresses.length === 0 || addresses.some((entry) => isBlockedAddress(entry.address))) {
      return callback(new PrivateAddressError(`${hostname} resolves to a private address`), []);
    }
    if (options.all) return callback(null, addresses);
    const first = addresses[0]!;
    callback(null, first.address, first.family);
  });
}

/** Content types that are plainly a page or data, not a picture (a link to the page an image is shown on). */
function notAnImage(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return (
    type.startsWith('text/') ||
    ['application/json', 'application/xhtml+xml', 'application/xml'].includes(type)
  );
}

/**
 * The link probe: a HEAD (a GET of the first byte when HEAD is not allowed), following at most three redirects,
 * each checked again, all within one deadline. Links are only ever read by Together; this look costs the link's
 * server one small request and saves the person a job that would fail after starting.
 */
export class HttpLinkProbe implements LinkProbe {
  private readonly agent: Agent;

  constructor(private readonly options: LinkProbeOptions) {
    this.agent = new Agent({
      keepAliveTimeout: 1000,
      connect: {
        // An abort does not end a connection still being made (a TLS handshake that never finishes): this does.
        timeout: options.timeoutMs,
        ...(options.allowPrivate ? {} : { lookup: filteringLookup }),
        ...(options.ca ? { ca: options.ca } : {}),
      },
    });
  }

  async check(link: string): Promise<LinkProblem | undefined> {
    const ms = this.options.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<LinkProblem>((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'timeout', ms }), ms);
    });
    try {
      return await Promise.race([this.walk(link, AbortSignal.timeout(ms)), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The link and its redirects, one look each; never throws. */
  private async walk(link: string, signal: AbortSignal): Promise<LinkProblem | undefined> {
    try {
      let url = new URL(link);
      for (let hop = 0; ; hop++) {
        if (url.protocol !== 'https:')
          return { kind: 'unreachable', reason: `it redirects to ${url.protocol}//` };
        if (!this.options.allowPrivate && isIP(url.hostname.replace(/^\[|\]$/g, '')) !== 0) {
          if (isBlockedAddress(url.hostname)) return { kind: 'private' };
        }
        const answer = await this.look(url, signal);
        if (answer.status >= 300 && answer.status < 400 && answer.location) {
          if (hop >= MAX_PROBE_REDIRECTS) return { kind: 'redirects', max: MAX_PROBE_REDIRECTS };
          url = new URL(answer.location, url);
          continue;
        }
        if (answer.status >= 300) return { kind: 'status', status: answer.status };
        if (notAnImage(answer.contentType)) return { kind: 'not-image', contentType: answer.contentType! };
        return undefined;
      }
    } catch (error) {
      return problemOf(error, signal, this.options.timeoutMs);
    }
  }

  /** One request: HEAD, or the first byte by GET where HEAD is refused (405, 501). */
  private async look(url: URL, signal: AbortSignal) {
    const once = async (method: 'HEAD' | 'GET') => {
      const response = await request(url, {
        method,
        signal,
        dispatcher: this.agent,
        headers: {
          'user-agent': 'lorabot-link-check',
          accept: 'image/*',
          ...(method === 'GET' ? { range: 'bytes=0-0' } : {}),
        },
      });
      await response.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      const header = (name: string) => {
        const value = response.headers[name];
        return Array.isArray(value) ? value[0] : value;
      };
      return {
        status: response.statusCode,
        location: header('location'),
        contentType: header('content-type'),
      };
    };
    const head = await once('HEAD');
    return head.status === 405 || head.status === 501 ? once('GET') : head;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/** What a failed look says: too slow, a private address, or why it could not be reached. */
function problemOf(error: unknown, signal: AbortSignal, timeoutMs: number): LinkProblem {
  if (signal.aborted) return { kind: 'timeout', ms: timeoutMs };
  const causes: unknown[] = [];
  for (let e: unknown = error; e && causes.length < 5; e = (e as { cause?: unknown }).cause) causes.push(e);
  const codes = causes
    .map((e) => (e as { code?: unknown }).code)
    .filter((c): c is string => typeof c === 'string');
  if (codes.includes('ELORABOT_PRIVATE_ADDRESS')) return { kind: 'private' };
  if (causes.some((e) => e instanceof errors.ConnectTimeoutError)) return { kind: 'timeout', ms: timeoutMs };
  return { kind: 'unreachable', reason: reasonOf(codes) };
}

function reasonOf(codes: readonly string[]): string {
  const has = (...wanted: string[]) => codes.some((code) => wanted.includes(code));
  if (has('ENOTFOUND', 'EAI_AGAIN', 'EAI_NODATA', 'EAI_NONAME')) return 'no such host';
  if (has('ECONNREFUSED')) return 'the connection was refused';
  if (has('ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE')) return 'the connection was closed';
  if (
    codes.some((code) => code.includes('CERT') || code.startsWith('ERR_TLS') || code.includes('SELF_SIGNED'))
  )
    return 'its https certificate is not valid';
  if (has('EHOSTUNREACH', 'ENETUNREACH')) return 'no route to the host';
  return 'the request failed';
}

/** The probe `sources.probe_*` asks for, or none when `probe_links` is off. */
export function linkProbeFrom(settings: {
  enabled: boolean;
  timeoutMs: number;
  allowPrivate: boolean;
}): HttpLinkProbe | undefined {
  return settings.enabled
    ? new HttpLinkProbe({ timeoutMs: settings.timeoutMs, allowPrivate: settings.allowPrivate })
    : undefined;
}
