import type { TestProject } from 'vitest/node';
import { LocalRedisCluster } from './local-cluster.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The Redis Cluster the cluster tests use, as `host:port,…`: REDIS_CLUSTER_NODES, or one this setup started. */
    redisClusterNodes: string;
  }
}

/**
 * Uses REDIS_CLUSTER_NODES when set; otherwise starts a 3-master Redis Cluster on loopback (`LocalRedisCluster`)
 * and stops it at the end. Like the single Redis, it is never flushed: tests keep to their own key prefixes.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const external = process.env.REDIS_CLUSTER_NODES;
  if (external) {
    project.provide('redisClusterNodes', external);
    return undefined;
  }
  const cluster = await new LocalRedisCluster().start();
  project.provide('redisClusterNodes', cluster.nodes);
  return () => cluster.stop();
}
