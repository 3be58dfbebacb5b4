import { type Cluster, Redis } from 'ioredis';
import type { DoctorCheck } from '../core/doctor-check.js';

/** Every Redis Cluster has this many hash slots; lorabot's keys need the one its prefix hashes to. */
const SLOTS = 16_384;

/** What `CLUSTER INFO` says, as numbers where it gives numbers. */
export function parseClusterInfo(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1).trim();
  }
  return fields;
}

/**
 * A Redis Cluster's state for `lorabot doctor`: `cluster_state`, how many masters serve slots, how many of the
 * 16,384 slots are covered, and which master holds lorabot's keys (every key shares the prefix's hash tag, so all of
 * them live in one slot). FAIL when the cluster is down or slots are not covered; WARN when slots are failing or no
 * master has a replica.
 * @see https://redis.io/docs/latest/commands/cluster-info/
 */
export async function checkCluster(cluster: Cluster, prefix: string): Promise<DoctorCheck[]> {
  const info = parseClusterInfo(String(await cluster.cluster('INFO')));
  const state = info.cluster_state ?? 'unknown';
  const masters = Number(info.cluster_size ?? 0);
  const assigned = Number(info.cluster_slots_assigned ?? 0);
  const ok = Number(info.cluster_slots_ok ?? 0);
  const failing = Number(info.cluster_slots_pfail ?? 0) + Number(info.cluster_slots_fail ?? 0);
  const seed = cluster.nodes('master')[0];
  const anyNode = seed ? `${seed.options.host}:${seed.options.port}` : 'host:port';
  const summary = `cluster_state ${state}, ${masters} master${masters === 1 ? '' : 's'}, ${ok}/${SLOTS} slots covered`;
  if (state !== 'ok' || assigned < SLOTS) {
    return [
      {
        level: 'FAIL',
        name: 'cluster',
        message: `${summary}: lorabot cannot run until every slot is served. Fix: redis-cli --cluster check ${anyNode}, then redis-cli --cluster fix ${anyNode}`,
      },
    ];
  }
  const checks: DoctorCheck[] = [{ level: 'OK', name: 'cluster', message: summary }];
  if (failing > 0) {
    checks.push({
      level: 'WARN',
      name: 'cluster',
      message: `${failing} slots are failing or suspected failing. Fix: redis-cli --cluster check ${anyNode}`,
    });
  }
  const slot = Number(await cluster.cluster('KEYSLOT', prefix));
  const owner = await ownerOf(cluster, slot);
  checks.push({
    level: 'OK',
    name: 'cluster',
    message: `lorabot's keys (${prefix}) live in slot ${slot}, on ${owner ?? 'an unknown master'}`,
  });
  if (cluster.nodes('slave').length === 0) {
    checks.push({
      level: 'WARN',
      name: 'cluster',
      message: `no master has a replica: if the master holding slot ${slot} stops, lorabot stops until it is back. Fix: add a replica per master (redis-cli --cluster add-node NEW:PORT ${anyNode} --cluster-slave)`,
    });
  }
  return checks;
}

/**
 * What the seed nodes of a cluster that lorabot could not open say about it: a FAIL with the cluster's state when
 * one of them answers `CLUSTER INFO` (say, a cluster whose slots were never assigned), else undefined.
 */
export async function describeUnopenedCluster(
  nodes: ReadonlyArray<{ host: string; port: number }>,
  auth: { username?: string; password?: string; tls: boolean },
): Promise<DoctorCheck | undefined> {
  for (const node of nodes) {
    const redis = new Redis({
      ...node,
      ...(auth.username ? { username: auth.username } : {}),
      ...(auth.password ? { password: auth.password } : {}),
      ...(auth.tls ? { tls: {} } : {}),
      lazyConnect: true,
      connectTimeout: 1000,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    redis.on('error', () => {});
    try {
      await redis.connect();
      const info = parseClusterInfo(String(await redis.cluster('INFO')));
      const anyNode = `${node.host}:${node.port}`;
      return {
        level: 'FAIL',
        name: 'cluster',
        message: `cluster_state ${info.cluster_state ?? 'unknown'}, ${info.cluster_size ?? 0} masters, ${info.cluster_slots_ok ?? 0}/${SLOTS} slots covered (asked ${anyNode}): lorabot cannot run until every slot is served. Fix: create the cluster (redis-cli --cluster create HOST:PORT … --cluster-yes), or redis-cli --cluster fix ${anyNode}`,
      };
    } catch {
      // This node does not answer (or is not in cluster mode): ask the next.
    } finally {
      redis.disconnect();
    }
  }
  return undefined;
}

/** `host:port` of the master serving `slot`, from `CLUSTER SLOTS`. */
async function ownerOf(cluster: Cluster, slot: number): Promise<string | undefined> {
  const ranges = await cluster.cluster('SLOTS');
  const master = ranges.find(([from, to]) => from <= slot && slot <= to)?.[2];
  return master ? `${master[0]}:${master[1]}` : undefined;
}
