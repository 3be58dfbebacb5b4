import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.js';

/** Runs Biome, with the repo's biome.json, on source text placed at `path` in a scratch tree; returns its diagnostics. */
function lint(path: string, source: string): string {
  const biome = join(REPO_ROOT, 'node_modules/.bin/biome');
  const dir = mkdtempSync(join(tmpdir(), 'lorabot-lint-'));
  const config = JSON.parse(readFileSync(join(REPO_ROOT, 'biome.json'), 'utf8'));
  config.$schema = undefined;
  config.vcs = { enabled: false };
  writeFileSync(join(dir, 'biome.json'), JSON.stringify(config));
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  writeFileSync(join(dir, path), source);
  try {
    execFileSync(biome, ['lint', path], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
    return '';
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
}

describe('the import boundaries', () => {
  it.each([
    ["import { readFileSync } from 'node:fs';", 'node:fs'],
    ["import { request } from 'undici';", 'undici'],
    ["import { Queue } from 'bullmq';", 'bullmq'],
    ["import { loadConfig } from '../config/index.js';", 'config'],
    ["import { TogetherClient } from '../adapters/together/together-client.js';", 'an adapter'],
    ["import { InboundService } from '../app/inbound-service.js';", 'the application layer'],
    ["import { runDoctor } from '../cli/doctor.js';", 'the CLI'],
  ])('keep src/core free of I/O: %s is refused', (line) => {
    const output = lint('src/core/probe.ts', `${line}\nexport const x = 1;\n`);
    expect(output).toContain('noRestrictedImports');
  });

  it('let src/core import its own modules', () => {
    expect(
      lint('src/core/probe.ts', "import { ok } from './result.js';\nexport const x = ok(1);\n"),
    ).not.toContain('noRestrictedImports');
  });

  it('keep platform SDKs inside src/adapters and Redis inside src/queue', () => {
    expect(
      lint('src/queue/probe.ts', "import { App } from '@slack/bolt';\nexport const x = App;\n"),
    ).toContain('noRestrictedImports');
    expect(
      lint('src/adapters/slack/probe.ts', "import { Redis } from 'ioredis';\nexport const x = Redis;\n"),
    ).toContain('noRestrictedImports');
    expect(
      lint('src/adapters/slack/probe.ts', "import { App } from '@slack/bolt';\nexport const x = App;\n"),
    ).not.toContain('noRestrictedImports');
  });

  it.each([
    ['src/adapters/slack/probe.ts', 'pino'],
    ['src/adapters/discord/probe.ts', 'prom-client'],
    ['src/queue/probe.ts', 'pino'],
    ['src/probe.ts', 'prom-client'],
  ])('keep logging and metrics in their adapters: %s may not import %s', (file, module) => {
    expect(lint(file, `import x from '${module}';\nexport const y = x;\n`)).toContain('noRestrictedImports');
    expect(
      lint('src/adapters/logging/probe.ts', `import x from '${module}';\nexport const y = x;\n`),
    ).not.toContain('noRestrictedImports');
  });

  it.each([
    ["import { NO_MENTIONS } from '../discord/discord-format.js';", 'another adapter'],
    ["import { loadConfig } from '../../config.js';", 'the root config'],
    ["import { main } from '../../main.js';", 'the root entry'],
    ["import { loadConfig } from '../../config/index.js';", 'the config folder'],
    ["import { startLorabot } from '../../cli/runtime.js';", 'the process wiring'],
    ["import { USAGE } from '../../cli/io.js';", 'the CLI'],
  ])('keep adapters apart and off the root modules: %s is refused', (line) => {
    const output = lint('src/adapters/slack/probe.ts', `${line}\nexport const x = 1;\n`);
    expect(output).toContain('noRestrictedImports');
  });

  it('let an adapter import core, the application layer and its own folder', () => {
    const source = [
      "import { isAllowed } from '../../core/access.js';",
      "import { InboundService } from '../../app/inbound-service.js';",
      "import type { DoctorCheck } from '../../core/doctor-check.js';",
      "import { escapeSlackText } from './slack-text.js';",
      'export const x: [unknown, unknown, unknown, DoctorCheck?] = [isAllowed, InboundService, escapeSlackText];',
      '',
    ].join('\n');
    expect(lint('src/adapters/slack/probe.ts', source)).not.toContain('noRestrictedImports');
  });
});
