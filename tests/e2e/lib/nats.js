// A real nats-server for the scale-out tests: started on a free 127.0.0.1 port with its log
// in a temp dir, stopped (by pid) and restarted on the same port. Ready means the server
// sent its INFO line to a fresh TCP connection. A missing nats-server throws (tests fail,
// not skip: scripts/deps.sh installs it).
import net from 'node:net';
import { Daemon } from './daemon.js';
import { HOST, freePort } from './server.js';
import { SCALE } from './wait.js';

// Resolves true when a connection to port gets a NATS INFO line within `timeout`.
function natsAnswers(port, timeout = 500 * SCALE) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: HOST, port });
    const done = (ok) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeout);
    sock.on('error', () => done(false));
    sock.on('data', (d) => done(d.toString('utf8').startsWith('INFO ')));
  });
}

export class NatsServer extends Daemon {
  constructor({ name = 'nats', args = [] } = {}) {
    super({ name, binary: 'nats-server', logFile: 'nats.log' });
    this.extraArgs = args;
  }

  get url() {
    return `nats://${HOST}:${this.port}`;
  }

  // Starts the server (on the same port when it ran before) and waits until it answers.
  async start() {
    if (this.proc && !this.exit) return this;
    if (!this.port) this.port = await freePort();
    const args = ['-a', HOST, '-p', String(this.port), ...this.extraArgs];
    return this.spawnAndWait(args, () => natsAnswers(this.port), `${this.name} on port ${this.port}`);
  }
}

export async function startNats(opts) {
  return new NatsServer(opts).start();
}
