import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';

/** A connection to lorabot's Redis: one server, or a Redis Cluster (ioredis' `Cluster`). */
export type RedisClient = Redis | Cluster;

/** One seed node of a Redis Cluster. */
export interface RedisNode {
  host: string;
  port: number;
}

/**
 * A Redis Cluster's address, written like a Redis URL so that it travels wherever one does:
 * `redis-cluster://host:port,host:port` (`rediss-cluster://` for TLS; `user:password@` before the nodes when the
 * cluster needs them). lorabot builds it from `REDIS_CLUSTER_NODES`; people never type it.
 */
const CLUSTER_ADDRESS = /^(rediss?)-cluster:\/\/(?:([^/?#]*)@)?([^@/?#]+)$/i;

/** The address `createRedis` opens a Redis Cluster at; `auth` comes from `REDIS_URL` when both are set. */
export function clusterAddress(
  nodes: readonly RedisNode[],
  auth?: { tls: boolean; userInfo: string | undefined },
): string {
  const scheme = auth?.tls ? 'rediss' : 'redis';
  const userInfo = auth?.userInfo ? `${auth.userInfo}@` : '';
  return `${scheme}-cluster://${userInfo}${nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
}

/** A cluster address's nodes, credentials and TLS; undefined for a plain Redis URL. */
export function parseClusterAddress(
  address: string,
): { nodes: RedisNode[]; tls: boolean; username?: string; password?: string } | undefined {
  const match = CLUSTER_ADDRESS.exec(address);
  if (!match) return undefined;
  const nodes = match[3]!.split(',').map((node) => {
    const colon = node.lastIndexOf(':');
    return { host: node.slice(0, colon), port: Number(node.slice(colon + 1)) };
  });
  const userInfo = match[2] ?? '';
  const colon = userInfo.indexOf(':');
  const username = decodeURIComponent(colon === -1 ? userInfo : userInfo.slice(0, colon));
  const password = colon === -1 ? '' : decodeURIComponent(userInfo.slice(colon + 1));
  return {
    nodes,
    tls: match[1]!.toLowerCase() === 'rediss',
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
  };
}

/**
 * Opens a Redis connection for one role, to one server (a `redis://` URL) or a Redis Cluster (an address from
 * `clusterAddress`). Producers (the gateway) fail fast when Redis is away, so a user hears "try again shortly"
 * within the platform's deadline; workers wait and reconnect, as BullMQ requires (`maxRetriesPerRequest: null`).
 */
export function createRedis(address: string, role: 'producer' | 'worker', name: string): RedisClient {
  // Reconnect quickly at first (a restart takes a moment), then every 2 s at most.
  const retry = (times: number) => Math.min(100 * times, 2000);
  const perRole: RedisOptions =
    role === 'producer'
      ? { maxRetriesPerRequest: 1, connectTimeout: 2000 }
      : { maxRetriesPerRequest: null, enableReadyCheck: true };
  const cluster = parseClusterAddress(address);
  if (cluster) {
    const options: ClusterOptions = {
      clusterRetryStrategy: retry,
      enableOfflineQueue: role === 'worker',
      enableReadyCheck: true,
      // A failover takes the cluster down for a moment: retry over a few seconds rather than fail at once.
      retryDelayOnClusterDown: 300,
      redisOptions: {
        connectionName: `lorabot:${name}`,
        ...perRole,
        ...(cluster.username ? { username: cluster.username } : {}),
        ...(cluster.password ? { password: cluster.password } : {}),
        ...(cluster.tls ? { tls: {} } : {}),
      },
    };
    return new Cluster(cluster.nodes, options);
  }
  return new Redis(address, {
    connectionName: `lorabot:${name}`,
    retryStrategy: retry,
    lazyConnect: false,
    ...perRole,
    ...(role === 'producer' ? { enableOfflineQueue: false } : {}),
  });
}

/** Waits until a connection is ready (or fails after `timeoutMs`). */
export async function waitReady(redis: RedisClient, timeoutMs = 5000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis did not become ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}
