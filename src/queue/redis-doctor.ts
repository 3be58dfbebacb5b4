import type { DoctorCheck } from '../core/doctor-check.js';
import { createRedis, waitReady } from './redis-connection.js';
import { resolveRedisUrl } from './redis-url.js';

/** Redis: reachable, its version, and `maxmemory-policy noeviction` (evicting would lose queued jobs). */
export async function checkRedis(configured: string | undefined, cwd: string): Promise<DoctorCheck[]> {
  let resolved: Awaited<ReturnType<typeof resolveRedisUrl>>;
  try {
    resolved = await resolveRedisUrl(configured, cwd);
  } catch (error) {
    return [
      { level: 'FAIL', name: 'redis', message: error instanceof Error ? error.message : String(error) },
    ];
  }
  const redis = createRedis(resolved.url, 'producer', 'doctor');
  redis.on('error', () => {});
  try {
    await waitReady(redis, 3000);
    const info = await redis.info('server');
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
    const where =
      resolved.source === 'private' ? 'a private redis-server lorabot would start' : redactUrl(resolved.url);
    const checks: DoctorCheck[] = [
      { level: 'OK', name: 'redis', message: `reachable at ${where}, version ${version}` },
    ];
    const [, policy] = ((await redis.config('GET', 'maxmemory-policy').catch(() => [])) as string[]) ?? [];
    if (policy === undefined) {
      checks.push({
        level: 'WARN',
        name: 'redis',
        message: 'cannot read maxmemory-policy; make sure it is noeviction',
      });
    } else if (policy !== 'noeviction') {
      checks.push({
        level: 'WARN',
        name: 'redis',
        message: `maxmemory-policy is ${policy}: Redis may evict queued jobs. Fix: CONFIG SET maxmemory-policy noeviction (and in redis.conf)`,
      });
    } else {
      checks.push({ level: 'OK', name: 'redis', message: 'maxmemory-policy is noeviction' });
    }
    return checks;
  } catch (error) {
    return [
      {
        level: 'FAIL',
        name: 'redis',
        message: `cannot reach ${redactUrl(resolved.url)} (${error instanceof Error ? error.message : String(error)}). Check REDIS_URL and that Redis is running`,
      },
    ];
  } finally {
    redis.disconnect();
    await resolved.stop?.();
  }
}

/** A Redis URL without its password (in the user info, or the `password` query option ioredis also reads). */
export function redactUrl(url: string): string {
  return (
    url
      // Up to the last `@` before the path: an unencoded `@` in the password must not leak what follows it.
      .replace(/^([a-z]+:\/\/)([^/?#]*)@/i, (_, scheme: string, userInfo: string) => {
        const colon = userInfo.indexOf(':');
        return `${scheme}${colon === -1 ? userInfo : `${userInfo.slice(0, colon)}:[redacted]`}@`;
      })
      .replace(/([?&]password=)[^&#]*/gi, '$1[redacted]')
  );
}
