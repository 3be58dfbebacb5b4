import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/cli.js';
import type { Io } from '../../src/cli/io.js';

/** Runs the `lorabot` CLI in this process, in a fresh working directory, and collects what it printed. */
export async function runCli(
  args: string[],
  env: Record<string, string>,
  extra: Pick<Io, 'stopSignal' | 'telemetry'> = {},
): Promise<{ code: number; stdout: string; stderr: string; cwd: string }> {
  let stdout = '';
  let stderr = '';
  const cwd = mkdtempSync(join(tmpdir(), 'lorabot-cli-'));
  const code = await main(args, {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env,
    cwd,
    ...extra,
  });
  return { code, stdout, stderr, cwd };
}
