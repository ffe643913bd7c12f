// Real redis-server processes for the scale-out tests: a single server (optionally with an
// append-only file fsynced on every write, to survive SIGKILL), stopped and restarted on
// the same port and directory, and a three-master Redis Cluster on loopback ports,
// optionally with replicas that take over (failover) when their master is killed.
//
// What holds:
// - Every server listens on 127.0.0.1 only, on a port asked from the OS, and keeps its
//   files (data, AOF, nodes.conf, redis.log) in its own temp dir, removed by stop().
// - Processes are signalled through their pid (node's ChildProcess), never by name:
//   redis-server rewrites its process title.
// - A missing redis-server throws: scripts/deps.sh installs them, so a test
//   that needs them fails instead of being skipped.
// - Every wait is bounded (lib/wait.js); lib/daemon.js kills what is left if the test
//   process dies.
import net from 'node:net';
import { Daemon } from './daemon.js';
import { HOST, freePort } from './server.js';
import { SCALE, waitFor } from './wait.js';

// ---------------------------------------------------------------------------- RESP

function encodeCommand(args) {
  let out = `*${args.length}\r\n`;
  for (const a of args) {
    const s = String(a);
    out += `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
  }
  return out;
}

// Parses one RESP2 reply from `buf` at `pos`; returns [value, next] or null when incomplete.
// Errors are returned as Error objects (not thrown) so that arrays can carry them.
function parseReply(buf, pos = 0) {
  const eol = buf.indexOf('\r\n', pos);
  if (eol < 0) return null;
  const type = String.fromCharCode(buf[pos]);
  const line = buf.toString('utf8', pos + 1, eol);
  const next = eol + 2;
  switch (type) {
    case '+':
      return [line, next];
    case '-':
      return [new Error(line), next];
    case ':':
      return [Number(line), next];
    case '$': {
      const n = Number(line);
      if (n < 0) return [null, next];
      if (buf.length < next + n + 2) return null;
      return [buf.toString('utf8', next, next + n), next + n + 2];
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return [null, next];
      const items = [];
      let p = next;
      for (let i = 0; i < n; i++) {
        const r = parseReply(buf, p);
        if (!r) return null;
        items.push(r[0]);
        p = r[1];
      }
      return [items, p];
    }
    default:
      throw new Error(`unexpected RESP type byte ${JSON.stringify(type)}`);
  }
}

// Sends one command to 127.0.0.1:port on a fresh connection and resolves with its reply
// (a Redis error reply rejects). Bounded by `timeout`.
export function redisCommand(port, args, { timeout = 2000 * SCALE } = {}) {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const sock = net.connect({ host: HOST, port });
    const done = (err, value) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    const timer = setTimeout(() => done(new Error(`redis ${port} ${args[0]}: no reply within ${timeout} ms`)), timeout);
    sock.on('error', (e) => done(e));
    sock.on('connect', () => sock.write(encodeCommand(args)));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      let r;
      try {
        r = parseReply(buf);
      } catch (e) {
        return done(e);
      }
      if (!r) return;
      if (r[0] instanceof Error) done(new Error(`redis ${port} ${args[0]}: ${r[0].message}`));
      else done(null, r[0]);
    });
  });
}

// A port P such that P and P + 10000 (the cluster bus port) are both free and P <= 55535.
async function freeClusterPort() {
  for (let i = 0; i < 200; i++) {
    const p = await freePort();
    if (p > 55535) continue;
    const bus = await new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(p + 10000, HOST, () => s.close(() => resolve(true)));
    });
    if (bus) return p;
  }
  throw new Error('no free port pair for a Redis Cluster node');
}

// ---------------------------------------------------------------------------- one server

export class RedisServer extends Daemon {
  // aof: append-only file with appendfsync always (every acknowledged write survives SIGKILL).
  // cluster: cluster-enabled node (its bus port is port + 10000).
  // clusterNodeTimeout: ms without an answer before the cluster marks a node as failing
  // (and a replica takes over a failed master).
  constructor({ name = 'redis', aof = false, cluster = false, clusterNodeTimeout = 3000, args = [] } = {}) {
    super({ name, binary: 'redis-server', logFile: 'redis.log' });
    this.aof = aof;
    this.cluster = cluster;
    this.clusterNodeTimeout = clusterNodeTimeout;
    this.extraArgs = args;
  }

  get address() {
    return `${HOST}:${this.port}`;
  }
  get url() {
    return `redis://${HOST}:${this.port}`;
  }

  // Starts the server (on the same port and dir when it ran before) and waits for PING.
  async start() {
    if (this.proc && !this.exit) return this;
    if (!this.port) this.port = this.cluster ? await freeClusterPort() : await freePort();
    const args = [
      '--port', String(this.port), '--bind', HOST, '--dir', this.dir, '--daemonize', 'no',
      '--save', '', '--loglevel', 'notice', '--logfile', '',
      '--appendonly', this.aof ? 'yes' : 'no',
      ...(this.aof ? ['--appendfsync', 'always'] : []),
      ...(this.cluster ? ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf',
        '--cluster-node-timeout', String(this.clusterNodeTimeout)] : []),
      ...this.extraArgs,
    ];
    const ping = async () => (await redisCommand(this.port, ['PING'], { timeout: 500 * SCALE })) === 'PONG';
    return this.spawnAndWait(args, ping, `${this.name} PING on port ${this.port}`);
  }

  command(...args) {
    return redisCommand(this.port, args);
  }
}

export async function startRedis(opts) {
  return new RedisServer(opts).start();
}

// ---------------------------------------------------------------------------- cluster

// `size` masters (3 by default), all 16384 slots assigned (CLUSTER ADDSLOTSRANGE,
// SET-CONFIG-EPOCH, MEET), and `replicas` replicas per master (CLUSTER REPLICATE); start()
// resolves once every node reports cluster_state:ok and knows every node, and every
// replica's link to its master is up (it has the data). `nodeTimeout` is the
// cluster-node-timeout (ms): a killed master is failed over by its replica about that
// long after it stopped answering (the cluster decides, nothing else does).
// `masters` / `replicas` are the RedisServer objects; `nodes` all of them.
export class RedisCluster {
  constructor({ name = 'redis-cluster', size = 3, replicas = 0, nodeTimeout = 3000 } = {}) {
    const make = (n) => new RedisServer({ name: n, cluster: true, clusterNodeTimeout: nodeTimeout });
    this.masters = Array.from({ length: size }, (_, i) => make(`${name}-${i}`));
    this.replicaOf = new Map();  // replica -> its first master
    this.replicas = [];
    for (const [i, m] of this.masters.entries()) {
      for (let r = 0; r < replicas; r++) {
        const rep = make(`${name}-${i}r${r}`);
        this.replicas.push(rep);
        this.replicaOf.set(rep, m);
      }
    }
    this.nodes = [...this.masters, ...this.replicas];
  }

  // Addresses of the first masters (the seeds a client is given).
  get addresses() {
    return this.masters.map((n) => n.address);
  }

  async start() {
    await Promise.all(this.nodes.map((n) => n.start()));
    // What `redis-cli --cluster create` does, without its fixed one-second waits: each master
    // takes an equal slot range and its own config epoch, then the first node meets the others.
    const n = this.masters.length;
    for (const [i, node] of this.masters.entries()) {
      const from = Math.floor((16384 * i) / n);
      const to = Math.floor((16384 * (i + 1)) / n) - 1;
      await node.command('CLUSTER', 'ADDSLOTSRANGE', from, to);
      await node.command('CLUSTER', 'SET-CONFIG-EPOCH', i + 1);
    }
    for (const node of this.nodes.slice(1)) await this.nodes[0].command('CLUSTER', 'MEET', HOST, node.port);
    await this.waitKnown();
    for (const [rep, master] of this.replicaOf) {
      const id = await master.command('CLUSTER', 'MYID');
      // A replica may only follow a master it knows (MEET propagates over the bus).
      await waitFor(async () => {
        try {
          return (await rep.command('CLUSTER', 'REPLICATE', id)) === 'OK';
        } catch {
          return false;
        }
      }, { timeout: 15000 * SCALE, label: `${rep.name} CLUSTER REPLICATE ${master.name}` });
    }
    await waitFor(async () => {
      for (const rep of this.replicas) {
        const info = await rep.command('INFO', 'replication');
        if (!/role:slave/.test(info) || !/master_link_status:up/.test(info)) return false;
      }
      return true;
    }, { timeout: 15000 * SCALE, label: 'every replica linked to its master' });
    await this.waitKnown();
    return this;
  }

  // Waits until every live node reports cluster_state:ok and knows every node.
  async waitKnown({ live = this.nodes, timeout = 15000 * SCALE } = {}) {
    await waitFor(async () => {
      for (const n of live) {
        const info = await n.command('CLUSTER', 'INFO');
        const known = Number(/cluster_known_nodes:(\d+)/.exec(info)?.[1]);
        if (!/cluster_state:ok/.test(info) || known !== this.nodes.length) return false;
      }
      return true;
    }, { timeout, label: 'redis cluster_state:ok on every node' });
  }

  // The server that currently serves `key`'s slot as master, asked from `via` (a live node).
  async masterOf(key, via) {
    const slot = await via.command('CLUSTER', 'KEYSLOT', key);
    const ranges = await via.command('CLUSTER', 'SLOTS');
    for (const [from, to, master] of ranges) {
      if (slot >= from && slot <= to) return this.nodes.find((n) => n.port === Number(master[1]));
    }
    throw new Error(`no master for slot ${slot} of ${key}`);
  }

  async stop() {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }
}

export async function startRedisCluster(opts) {
  return new RedisCluster(opts).start();
}

// Sends `commands` (arrays of arguments) pipelined on one connection to 127.0.0.1:port and
// resolves with their replies in order (error replies as Error objects). Bounded by `timeout`.
export function redisPipeline(port, commands, { timeout = 10000 * SCALE } = {}) {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    let pos = 0;
    const replies = [];
    const sock = net.connect({ host: HOST, port });
    const done = (err) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(replies);
    };
    const timer = setTimeout(() => done(new Error(`redis ${port}: ${replies.length}/${commands.length} replies within ${timeout} ms`)), timeout);
    sock.on('error', (e) => done(e));
    sock.on('connect', () => sock.write(commands.map(encodeCommand).join('')));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf.subarray(pos), d]);
      pos = 0;
      for (;;) {
        let r;
        try {
          r = parseReply(buf, pos);
        } catch (e) {
          return done(e);
        }
        if (!r) break;
        replies.push(r[0]);
        pos = r[1];
        if (replies.length === commands.length) return done(null);
      }
    });
  });
}
