// A minimal connect-proxy backend for bench/proxy_storm.sh: a Node `http` server on
// 127.0.0.1:$PORT (keep-alive) that answers every POST with a result naming the user
// after the connection's client ID. Prints "ready" once listening.
import http from 'node:http';

const port = Number(process.env.PORT || 18790);
let n = 0;
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    n++;
    const body = `{"result":{"user":"u${n}"}}`;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 60000;
server.listen(port, '127.0.0.1', () => console.log('ready'));
process.on('SIGTERM', () => {
  console.log(`requests ${n}`);
  process.exit(0);
});
