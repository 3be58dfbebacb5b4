import { describe, expect, it } from 'vitest';
import { parseClusterInfo } from '../../../src/queue/cluster-doctor.js';
import { clusterAddress, parseClusterAddress } from '../../../src/queue/redis-connection.js';
import { describeRedis } from '../../../src/queue/redis-doctor.js';
import { resolveRedisUrl } from '../../../src/queue/redis-url.js';

const NODES = [
  { host: '10.0.0.5', port: 6379 },
  { host: 'redis-node-2', port: 7001 },
];

describe('a Redis Cluster address', () => {
  it('carries the nodes, and gives them back', () => {
    const address = clusterAddress(NODES);
    expect(address).toBe('redis-cluster://10.0.0.5:6379,redis-node-2:7001');
    expect(parseClusterAddress(address)).toEqual({ nodes: NODES, tls: false });
  });

  it('takes the password and TLS from REDIS_URL when both are set, and never shows the password', async () => {
    const resolved = await resolveRedisUrl('rediss://app:p%40ss@ignored-host:6380', '/nowhere', NODES);
    expect(resolved.source).toBe('REDIS_CLUSTER_NODES');
    expect(parseClusterAddress(resolved.url)).toEqual({
      nodes: NODES,
      tls: true,
      username: 'app',
      password: 'p@ss',
    });
    expect(describeRedis(resolved.url)).toBe('Redis Cluster 10.0.0.5:6379,redis-node-2:7001 (TLS)');
    expect(describeRedis(resolved.url)).not.toContain('p%40ss');
  });

  it('is no plain Redis URL, and a plain URL is no cluster', () => {
    expect(parseClusterAddress('redis://127.0.0.1:6379')).toBeUndefined();
    expect(describeRedis('redis://:s3cret@host:6379')).toBe('redis://:[redacted]@host:6379');
  });

  it('reads CLUSTER INFO as fields', () => {
    const info = parseClusterInfo('cluster_state:ok\r\ncluster_slots_assigned:16384\r\ncluster_size:3\r\n');
    expect(info).toMatchObject({ cluster_state: 'ok', cluster_slots_assigned: '16384', cluster_size: '3' });
  });
});
