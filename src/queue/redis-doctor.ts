import { Cluster } from 'ioredis';
import type { DoctorCheck } from '../core/doctor-check.js';
import { checkCluster, describeUnopenedCluster } from './cluster-doctor.js';
import {
  createRedis,
  parseClusterAddress,
  type RedisClient,
  type RedisNode,
  waitReady,
} from './redis-connection.js';
import { resolveRedisUrl } from './redis-url.js';

/** Which Redis lorabot is configured for (REDIS_URL, REDIS_CLUSTER_NODES) and the prefix of its keys. */
export interface RedisSetting {
  url: string | undefined;
  clusterNodes: readonly RedisNode[];
  prefix: string;
}

/**
 * Redis: reachable, its version, and `maxmemory-policy noeviction` (evicting would lose queued jobs); on a Redis
 * Cluster, the policy of every master and the cluster's state.
 */
export async function checkRedis(setting: RedisSetting, cwd: string): Promise<DoctorCheck[]> {
  let resolved: Awaited<ReturnType<typeof resolveRedisUrl>>;
  try {
    resolved = await resolveRedisUrl(setting.url, cwd, setting.clusterNodes);
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
      resolved.source === 'private'
        ? 'a private redis-server lorabot would start'
        : describeRedis(resolved.url);
    const checks: DoctorCheck[] = [
      { level: 'OK', name: 'redis', message: `reachable at ${where}, version ${version}` },
    ];
    checks.push(await checkPolicy(redis));
    if (redis instanceof Cluster) checks.push(...(await checkCluster(redis, setting.prefix)));
    else if (/^cluster_enabled:1/m.test(await redis.info('cluster'))) {
      // One node of a cluster answers only for its own slots: the rest would come back as MOVED errors.
      checks.push({
        level: 'FAIL',
        name: 'cluster',
        message: `REDIS_URL is one node of a Redis Cluster. Fix: set REDIS_CLUSTER_NODES=host:port,… to the cluster's nodes`,
      });
    }
    return checks;
  } catch (error) {
    const cluster = parseClusterAddress(resolved.url);
    const state = cluster && (await describeUnopenedCluster(cluster.nodes, cluster));
    if (state) return [state];
    return [
      {
        level: 'FAIL',
        name: 'redis',
        message: `cannot reach ${describeRedis(resolved.url)} (${error instanceof Error ? error.message : String(error)}). Check ${cluster ? 'REDIS_CLUSTER_NODES' : 'REDIS_URL'} and that Redis is running`,
      },
    ];
  } finally {
    redis.disconnect();
    await resolved.stop?.();
  }
}

/** `maxmemory-policy` must be noeviction: on one Redis, or on every master of a cluster. */
async function checkPolicy(redis: RedisClient): Promise<DoctorCheck> {
  const servers = redis instanceof Cluster ? redis.nodes('master') : [redis];
  const policies = await Promise.all(
    servers.map(async (server) => {
      const [, policy] = ((await server.config('GET', 'maxmemory-policy').catch(() => [])) as string[]) ?? [];
      return policy;
    }),
  );
  const policy = policies.find((p) => p !== 'noeviction') ?? 'noeviction';
  if (policies.includes(undefined)) {
    return {
      level: 'WARN',
      name: 'redis',
      message: 'cannot read maxmemory-policy; make sure it is noeviction',
    };
  }
  if (policy !== 'noeviction') {
    return {
      level: 'WARN',
      name: 'redis',
      message: `maxmemory-policy is ${policy}${servers.length > 1 ? ' on a master' : ''}: Redis may evict queued jobs. Fix: CONFIG SET maxmemory-policy noeviction (and in redis.conf${servers.length > 1 ? ', on every node' : ''})`,
    };
  }
  const where = servers.length > 1 ? ` on all ${servers.length} masters` : '';
  return { level: 'OK', name: 'redis', message: `maxmemory-policy is noeviction${where}` };
}

/** Where Redis is, for people: `Redis Cluster host:port,…` (with its TLS), or a Redis URL without its password. */
export function describeRedis(url: string): string {
  const cluster = parseClusterAddress(url);
  if (!cluster) return redactUrl(url);
  return `Redis Cluster ${cluster.nodes.map((n) => `${n.host}:${n.port}`).join(',')}${cluster.tls ? ' (TLS)' : ''}`;
}

/** A Redis URL without its password (in the user info, or the `password` query option ioredis also reads). */
export function redactUrl(url: string): string {
  return (
    url
      // Up to the last `@` before the path: an unencoded `@` in the password must not leak what follows it.
      .replace(/^([a-z-]+:\/\/)([^/?#]*)@/i, (_, scheme: string, userInfo: string) => {
        const colon = userInfo.indexOf(':');
        return `${scheme}${colon === -1 ? userInfo : `${userInfo.slice(0, colon)}:[redacted]`}@`;
      })
      .replace(/([?&]password=)[^&#]*/gi, '$1[redacted]')
  );
}
