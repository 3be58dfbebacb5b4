#!/usr/bin/env node
import { main } from './cli/cli.js';

const serving = ['start', 'gateway', 'worker'].includes(process.argv[2] ?? '');

/** A long-running process stops gracefully on the first SIGTERM/SIGINT, and at once on a second. */
const stopSignal = new Promise<void>((resolve) => {
  let asked = false;
  const onSignal = () => {
    if (!serving || asked) process.exit(130);
    asked = true;
    resolve();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
});

main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
  stopSignal,
  process,
  terminal: { stdout: process.stdout.isTTY === true, stderr: process.stderr.isTTY === true },
}).then(
  (code) => {
    process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`lorabot: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
