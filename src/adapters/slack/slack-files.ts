import { Agent, type Dispatcher, request } from 'undici';
import {
  type SlackFileSource,
  type SourceBytes,
  SourceImageError,
  sniffImageType,
  sourceImageError,
} from '../../core/source-images.js';

/** Where Slack serves `url_private` files; the bot token goes nowhere else. */
const SLACK_FILE_HOST = 'files.slack.com';
/** Redirects followed, each to an allowed host. */
const MAX_REDIRECTS = 3;

export interface SlackFileOptions {
  botToken: string;
  /** Slack's Web API address (`SLACK_API_URL`): its host is allowed too (a Slack-compatible test server). */
  apiUrl: string;
  maxBytes: number;
  timeoutMs: number;
  dispatcher?: Dispatcher;
}

/**
 * Downloads files shared on Slack, as the bot: `Authorization: Bearer <bot token>` on a `url_private` link,
 * only to files.slack.com (or the configured Slack API host), redirects followed only there, the whole download
 * within `timeoutMs`, at most `maxBytes`, and the bytes' type read from their first bytes.
 * @see https://docs.slack.dev/messaging/working-with-files#authenticating
 */
export function createSlackFileSource(
  options: SlackFileOptions,
): SlackFileSource & { close(): Promise<void> } {
  const dispatcher = options.dispatcher ?? new Agent({ keepAliveTimeout: 10_000 });
  const api = new URL(options.apiUrl);
  const allowed = (url: URL) =>
    (url.protocol === 'https:' && url.host === SLACK_FILE_HOST) ||
    (url.protocol === api.protocol && url.host === api.host);
  return {
    download: (url, signal) => download(url, { ...options, dispatcher, allowed, signal }),
    close: async () => {
      if (!options.dispatcher) await dispatcher.close();
    },
  };
}

interface DownloadRun extends SlackFileOptions {
  dispatcher: Dispatcher;
  allowed: (url: URL) => boolean;
  signal: AbortSignal | undefined;
}

async function download(url: string, run: DownloadRun): Promise<SourceBytes> {
  const timeout = AbortSignal.timeout(run.timeoutMs);
  const signal = run.signal ? AbortSignal.any([run.signal, timeout]) : timeout;
  let target = parseAllowed(url, run);
  for (let redirects = 0; ; redirects++) {
    const response = await send(target, run, signal, timeout);
    const location = response.headers.location;
    if (response.statusCode >= 300 && response.statusCode < 400 && typeof location === 'string') {
      discard(response.body);
      if (redirects >= MAX_REDIRECTS)
        throw sourceImageError('bad_url', `more than ${MAX_REDIRECTS} redirects`);
      target = parseAllowed(new URL(location, target).href, run);
      continue;
    }
    if (response.statusCode !== 200) {
      discard(response.body);
      throw statusError(response.statusCode);
    }
    const bytes = await readCapped(response, run, timeout);
    const mimeType = sniffImageType(bytes);
    if (!mimeType) {
      const type = String(response.headers['content-type'] ?? 'no content-type');
      throw sourceImageError('not_image', `${bytes.length} bytes of ${type}`, {
        signIn: type.startsWith('text/html'),
      });
    }
    return { bytes, mimeType };
  }
}

function parseAllowed(url: string, run: DownloadRun): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw sourceImageError('bad_url', 'not a URL');
  }
  // The token must never reach a host that is not Slack's: a link in a message could point anywhere.
  if (!run.allowed(parsed)) throw sourceImageError('bad_url', `host ${parsed.host} is not Slack's file host`);
  return parsed;
}

async function send(
  target: URL,
  run: DownloadRun,
  signal: AbortSignal,
  timeout: AbortSignal,
): Promise<Dispatcher.ResponseData> {
  try {
    return await request(target, {
      method: 'GET',
      headers: { authorization: `Bearer ${run.botToken}`, accept: 'image/*' },
      dispatcher: run.dispatcher,
      signal,
    });
  } catch (error) {
    throw networkError(error, run, timeout);
  }
}

async function readCapped(
  response: Dispatcher.ResponseData,
  run: DownloadRun,
  timeout: AbortSignal,
): Promise<Uint8Array> {
  const tooLarge = (detail: string) => sourceImageError('too_large', detail, { maxBytes: run.maxBytes });
  const declared = Number(response.headers['content-length'] ?? Number.NaN);
  if (declared > run.maxBytes) {
    discard(response.body);
    throw tooLarge(`content-length ${declared} is over ${run.maxBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length;
      if (size > run.maxBytes) {
        discard(response.body);
        throw tooLarge(`the body passed ${run.maxBytes} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (error instanceof SourceImageError) throw error;
    throw networkError(error, run, timeout);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

function statusError(status: number) {
  const detail = `HTTP ${status}`;
  if (status === 404 || status === 410) return sourceImageError('not_found', detail, { status });
  if (status === 401 || status === 403) return sourceImageError('refused', detail, { status });
  return sourceImageError('server', detail, { status });
}

/** No complete answer: the time limit, the job's own signal (passed on as it is), or the network. */
function networkError(error: unknown, run: DownloadRun, timeout: AbortSignal): unknown {
  if (run.signal?.aborted && !timeout.aborted) return error;
  const code = (error as { code?: string }).code ?? (error instanceof Error ? error.name : 'error');
  if (timeout.aborted || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return sourceImageError('timeout', `no complete file within ${run.timeoutMs} ms (${code})`, {
      timeoutMs: run.timeoutMs,
    });
  }
  return sourceImageError('unreachable', code, {}, error);
}

/** Drops a response body we no longer want, without an unhandled 'aborted' error from undici. */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {});
  body.destroy();
}
