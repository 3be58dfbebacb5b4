import { parseArgs } from 'node:util';
import { loadConfig } from './config.js';
import { dryRun } from './dry-run.js';

const USAGE = `Usage:
  lorabot start                      gateway and worker in one process
  lorabot gateway                    platform adapters and the HTTP server only
  lorabot worker                     the queue worker only
  lorabot run "<command>" [--out DIR] run a command through the queue and wait for the result
  lorabot run --dry-run --json "<command>"
                                     parse, validate and price a command; print the Together request body
  lorabot doctor                     check config, Redis, Together, Slack and Discord
  lorabot register-commands [--guild ID]
                                     register the Discord application commands`;

/** Exit codes: 0 ok, 1 failure, 2 a user error (bad command or arguments), 78 bad configuration. */
export async function main(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return runCommand(rest, io);
    case 'start':
    case 'gateway':
    case 'worker':
    case 'doctor':
    case 'register-commands':
      io.stderr(
        `lorabot ${command} is not available in this version yet: this release ships the command grammar, pricing, ` +
          'the Together client and `lorabot run --dry-run`. See the README\'s "Status" section.\n',
      );
      return 1;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.stdout(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      io.stderr(`Unknown command "${command}".\n${USAGE}\n`);
      return 2;
  }
}

export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

function runCommand(args: string[], io: Io): number {
  let parsed: ReturnType<typeof parseRunArgs>;
  try {
    parsed = parseRunArgs(args);
  } catch (error) {
    io.stderr(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    io.stderr(`lorabot run takes one command in quotes, e.g. lorabot run "/flux a panda".\n`);
    return 2;
  }
  const config = loadConfig({ env: io.env, cwd: io.cwd });
  if (!config.success) {
    io.stderr(`${config.error.message}\n`);
    return 78;
  }
  if (!values['dry-run']) {
    io.stderr(
      'lorabot run without --dry-run goes through the queue and worker, which are not available in this version yet. ' +
        'Use --dry-run to parse and price a command.\n',
    );
    return 1;
  }
  const { output, notices } = dryRun(positionals[0]!, config.data.core);
  for (const notice of notices) io.stderr(`note: ${notice}\n`);
  if (values.json) {
    io.stdout(`${JSON.stringify(output)}\n`);
  } else if (!output.ok) {
    io.stderr(`${output.error}\n`);
  } else if (output.kind === 'help') {
    io.stdout(`${output.text}\n`);
  } else {
    io.stdout(`${JSON.stringify(output.request, null, 2)}\n${output.estimate.text}\n`);
  }
  return output.ok ? 0 : 2;
}

function parseRunArgs(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    options: {
      'dry-run': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      out: { type: 'string', default: './out' },
    },
  });
}
