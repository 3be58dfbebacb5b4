import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { boltLogger } from '../../../src/adapters/slack/slack-client.js';

/** A pino logger at `level` writing its lines into an array. */
function capture(level: string) {
  const lines: Array<{ level: number; msg: string }> = [];
  const out = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: pino({ level }, out), lines };
}

describe("the Slack clients' logger", () => {
  it('redacts a debug line only when the logger writes debug lines, and never formats it otherwise', () => {
    const quiet = capture('info');
    let formatted = 0;
    const body = {
      toJSON() {
        formatted++;
        return { token: 'xoxb-1-2-secret' };
      },
    };
    boltLogger(quiet.logger, ['xoxb-1-2-secret']).debug('http request body:', body);
    expect(formatted).toBe(0);
    expect(quiet.lines).toEqual([]);
    const verbose = capture('debug');
    boltLogger(verbose.logger, ['xoxb-1-2-secret']).debug('http request body:', body);
    expect(formatted).toBe(1);
    expect(verbose.lines).toHaveLength(1);
    expect(verbose.lines[0]!.msg).toContain('http request body:');
    expect(verbose.lines[0]!.msg).not.toContain('xoxb-1-2-secret');
  });
});
