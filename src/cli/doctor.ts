import { checkDiscord } from '../adapters/discord/discord-doctor.js';
import { checkSlack } from '../adapters/slack/slack-doctor.js';
import { checkTogether } from '../adapters/together/together-doctor.js';
import { loadConfig } from '../config/index.js';
import { type DoctorCheck, formatCheck } from '../core/doctor-check.js';
import { defaultSizeWarning } from '../core/image-size.js';
import { configuredModels } from '../core/model-checks.js';
import { checkRedis } from '../queue/redis-doctor.js';

/** `lorabot doctor`: one line per check, OK, WARN or FAIL with the fix. Exit 1 when anything failed. */
export async function runDoctor(io: {
  stdout(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}): Promise<number> {
  const print = (check: DoctorCheck) => io.stdout(`${formatCheck(check)}\n`);
  const loaded = loadConfig({ env: io.env, cwd: io.cwd });
  if (!loaded.success) {
    for (const problem of loaded.error.problems) print({ level: 'FAIL', name: 'config', message: problem });
    return 1;
  }
  const config = loaded.data;
  const valid = config.configPath ? `valid (${config.configPath})` : 'valid (built-in defaults)';
  const sizeWarning = defaultSizeWarning(config.core.image);
  const checks: DoctorCheck[] = [
    sizeWarning
      ? { level: 'WARN', name: 'config', message: `${valid}; ${sizeWarning}` }
      : { level: 'OK', name: 'config', message: valid },
  ];
  checks.forEach(print);
  const groups = await Promise.all([
    checkRedis(
      { url: config.redisUrl, clusterNodes: config.redisClusterNodes, prefix: config.queue.prefix },
      io.cwd,
    ),
    checkTogether({
      apiKey: config.together.apiKey,
      baseUrl: config.together.baseUrl,
      userAgent: config.together.userAgent,
      models: configuredModels(config.core),
    }),
    checkSlack(config.slack).then((c) => [c]),
    checkDiscord(config.discord).then((c) => [c]),
  ]);
  for (const group of groups) {
    group.forEach(print);
    checks.push(...group);
  }
  return checks.some((c) => c.level === 'FAIL') ? 1 : 0;
}
