import { connect } from 'node:net';

export interface RawPost {
  port: number;
  path?: string;
  headers: Record<string, string>;
  /** Body size in bytes; sent as fast as the connection takes it. */
  size: number;
  /** Chunked transfer encoding (no Content-Length up front) instead of a declared length. */
  chunked?: boolean;
}

export interface RawResult {
  /**
   * The status code, or 0 when the server closed the connection before the answer was read (a client still
   * sending into a refused request gets a reset, and the kernel drops the unread answer with it).
   */
  status: number;
  /** From the first byte sent to the status line, or to the close when there was none. */
  ms: number;
  /** Body bytes the kernel accepted before the server answered and closed. */
  sentBytes: number;
}

const CHUNK = Buffer.alloc(64 * 1024, 'a');

/**
 * A POST written on a plain socket, as a hostile client would: the body keeps coming while the server answers,
 * and the result says how much of it got out and when the status line arrived.
 */
export function rawPost(options: RawPost): Promise<RawResult> {
  return new Promise((resolve) => {
    const socket = connect(options.port, '127.0.0.1');
    const started = performance.now();
    let status = 0;
    let ms = 0;
    let sentBytes = 0;
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      if (status === 0) ms = performance.now() - started;
      socket.destroy();
      resolve({ status, ms, sentBytes });
    };
    socket.on('data', (data: Buffer) => {
      if (status !== 0) return;
      const match = /^HTTP\/1\.1 (\d{3})/.exec(data.toString('latin1'));
      status = match ? Number(match[1]) : -1;
      ms = performance.now() - started;
      // Give the answer's own close a moment, then stop sending.
      setTimeout(finish, 50);
    });
    socket.on('error', finish);
    socket.on('close', finish);
    const framing = options.chunked
      ? { 'transfer-encoding': 'chunked' }
      : { 'content-length': String(options.size) };
    const head = Object.entries({ host: '127.0.0.1', ...options.headers, ...framing })
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.write(`POST ${options.path ?? '/slack/events'} HTTP/1.1\r\n${head}\r\n`);
    let queued = 0;
    // One frame per turn of the event loop: the answer is read as soon as it arrives, before a write into the
    // closed connection fails and takes the socket (and the unread answer) with it.
    const pump = () => {
      if (settled) return;
      if (queued >= options.size) {
        if (options.chunked) socket.write('0\r\n\r\n');
        return;
      }
      const piece = CHUNK.subarray(0, Math.min(CHUNK.length, options.size - queued));
      queued += piece.length;
      const frame = options.chunked
        ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')])
        : piece;
      const more = socket.write(frame, (error) => {
        if (!error) sentBytes += piece.length;
      });
      if (more) setImmediate(pump);
      else socket.once('drain', () => setImmediate(pump));
    };
    pump();
  });
}

/** A process's resident set size in bytes, from `/proc`. */
export async function rssOf(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!kb) throw new Error(`no VmRSS for ${pid}`);
  return Number(kb[1]) * 1024;
}
