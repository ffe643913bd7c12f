// live: a minimal client of the Centrifuge JSON protocol over WebSocket, enough to watch a
// channel from the admin UI: connect with a token, subscribe with a subscription token,
// answer the server's pings, hand publications to a callback. Both tokens come from the
// admin API's connection_token / subscription_token actions (docs/admin.md).

export class LiveChannel {
  constructor(url, { onPublication, onState }) {
    this.url = url;
    this.onPublication = onPublication;
    this.onState = onState;
    this.nextId = 1;
    this.pending = new Map();
    this.ws = null;
  }

  // Resolves once subscribed; rejects with a message.
  async start(connectToken, channel, subToken) {
    await this.open();
    await this.send({ connect: { token: connectToken, name: 'gyre-admin' } });
    const sub = await this.send({ subscribe: { channel, token: subToken } });
    this.onState(`subscribed to ${channel}`);
    return sub;
  }

  open() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error(`cannot open ${this.url}`));
      ws.onclose = (e) => {
        for (const p of this.pending.values()) p.reject(new Error(`connection closed (${e.code})`));
        this.pending.clear();
        this.onState(`disconnected (${e.code}${e.reason ? ` ${e.reason}` : ''})`);
      };
      ws.onmessage = (e) => this.receive(String(e.data));
    });
  }

  send(command) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ id, ...command }));
    });
  }

  receive(text) {
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      const msg = JSON.parse(line);
      if (!msg.id && !msg.push) { // a server ping: answer with a pong
        this.ws.send('{}');
        continue;
      }
      if (msg.id && this.pending.has(msg.id)) {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (msg.error) p.reject(new Error(`error ${msg.error.code}: ${msg.error.message}`));
        else p.resolve(msg);
        continue;
      }
      if (msg.push && msg.push.pub) this.onPublication(msg.push.channel, msg.push.pub);
    }
  }

  stop() {
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close(1000);
    }
    this.ws = null;
  }
}
