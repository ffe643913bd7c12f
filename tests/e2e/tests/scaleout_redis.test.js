// Three Gyre nodes sharing a Redis engine, for each Redis topology: one server, two shards
// (`engine.redis.address` list: channels spread by jump hash, control on every shard) and a
// three-master Redis Cluster (`engine.redis.cluster_address`). Each runs the common
// scale-out suite (lib/scaleout_suite.js): cross-node publications, presence, join/leave,
// history, recovery on another node, node-targeted API commands, info, channels.
import { describe } from '../lib/test.js';
import { useNodes } from '../lib/nodes.js';
import { startRedis, startRedisCluster } from '../lib/redis.js';
import { scaleoutNamespaces, scaleoutSuite } from '../lib/scaleout_suite.js';

function redisConfig(redis) {
  return {
    engine: { type: 'redis', redis },
    channel: { namespaces: scaleoutNamespaces({ history: true }) },
  };
}

describe('scale-out: Redis, one server', () => {
  const h = useNodes(3, 'redis1', async () => {
    const r = await startRedis({ name: 'redis-single' });
    return { config: redisConfig({ address: [r.url] }), teardown: () => r.stop() };
  });
  scaleoutSuite(h, { history: true });
});

describe('scale-out: Redis, two shards', () => {
  const h = useNodes(3, 'redis2', async () => {
    const rs = await Promise.all([startRedis({ name: 'redis-shard0' }), startRedis({ name: 'redis-shard1' })]);
    return {
      config: redisConfig({ address: rs.map((r) => r.address) }),
      teardown: () => Promise.all(rs.map((r) => r.stop())),
    };
  });
  scaleoutSuite(h, { history: true });
});

describe('scale-out: Redis Cluster, three masters', () => {
  const h = useNodes(3, 'rcluster', async () => {
    const cluster = await startRedisCluster({ name: 'redis-cluster' });
    return {
      config: redisConfig({ cluster_address: [cluster.addresses.join(',')] }),
      teardown: () => cluster.stop(),
    };
  });
  scaleoutSuite(h, { history: true });
});
