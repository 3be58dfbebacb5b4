import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, type LogOutput, resolveLogFormat } from '../../../../src/adapters/logging/logger.js';
import { loadConfig } from '../../../../src/config/index.js';

const SECRET = 'xoxb-very-secret-token';

function capture(output: LogOutput) {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger('info', sink, output), lines };
}

function logSecrets(logger: ReturnType<typeof createLogger>): void {
  logger.info(
    {
      token: SECRET,
      slack: { botToken: SECRET },
      headers: { authorization: `Bearer ${SECRET}` },
      jobId: 'j-1',
    },
    'slack call failed',
  );
}

describe('createLogger', () => {
  it('json: one JSON object per line, secrets redacted', () => {
    const { logger, lines } = capture({ format: 'json' });
    logSecrets(logger);
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({
      msg: 'slack call failed',
      jobId: 'j-1',
      token: '[redacted]',
      slack: { botToken: '[redacted]' },
      headers: { authorization: '[redacted]' },
    });
    expect(lines[0]).not.toContain(SECRET);
  });

  it('pretty: a human-readable line, secrets redacted just the same', () => {
    const { logger, lines } = capture({ format: 'pretty' });
    logSecrets(logger);
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line).toMatch(/^\[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO: slack call failed /);
    expect(line.endsWith('\n')).toBe(true);
    expect(() => JSON.parse(line)).toThrow();
    expect(line).toContain('"jobId":"j-1"');
    expect(line).toContain('[redacted]');
    expect(line).not.toContain(SECRET);
    // No colour codes unless asked for (a file or a pipe would keep them).
    expect(line).not.toContain('\u001b[');
  });

  it('pretty with colours for a terminal', () => {
    const { logger, lines } = capture({ format: 'pretty', colors: true });
    logger.warn({ apiKey: SECRET }, 'careful');
    expect(lines[0]).toContain('\u001b[');
    expect(lines[0]).toMatch(/WARN/);
    expect(lines[0]).not.toContain(SECRET);
  });

  it('keeps the level: entries below it are dropped in both formats', () => {
    for (const format of ['json', 'pretty'] as const) {
      const { logger, lines } = capture({ format });
      logger.debug({}, 'hidden');
      logger.error({}, 'shown');
      expect(lines.join('')).not.toContain('hidden');
      expect(lines.join('')).toContain('shown');
    }
  });
});

describe('LOG_FORMAT', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'lorabot-log-'));

  it('defaults to pretty on a terminal and JSON lines elsewhere; a set value wins either way', () => {
    expect(resolveLogFormat(undefined, true)).toBe('pretty');
    expect(resolveLogFormat(undefined, false)).toBe('json');
    expect(resolveLogFormat('json', true)).toBe('json');
    expect(resolveLogFormat('pretty', false)).toBe('pretty');
  });

  it('is read by the config; unset is left to the terminal check', () => {
    const read = (value?: string) => {
      const result = loadConfig({ env: value === undefined ? {} : { LOG_FORMAT: value }, cwd });
      if (!result.success) throw new Error(result.error.message);
      return result.data.logFormat;
    };
    expect(read()).toBeUndefined();
    expect(read('')).toBeUndefined();
    expect(read('pretty')).toBe('pretty');
    expect(read('json')).toBe('json');
  });

  it('an unknown value is a config error naming LOG_FORMAT and the choices', () => {
    const result = loadConfig({ env: { LOG_FORMAT: 'fancy' }, cwd });
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(result.error.problems).toHaveLength(1);
    expect(result.error.problems[0]).toMatch(/^LOG_FORMAT: .*"pretty".*"json"/);
  });
});
