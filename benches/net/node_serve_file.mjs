// Node.js baseline for `weir serve`: each request streams the file with
// pipeline(fs.createReadStream(path), res), as the anchors' node_http_slow.mjs
// does, with no rate limit.
// usage: node node_serve_file.mjs DIR PORT
import http from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { pipeline } from 'node:stream';
import path from 'node:path';

const [dir, port] = process.argv.slice(2);
http
  .createServer((req, res) => {
    // Benchmark only: the file name is the last path segment.
    const file = path.join(dir, path.basename(decodeURIComponent(req.url)));
    let size;
    try {
      size = statSync(file).size;
    } catch {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
    pipeline(createReadStream(file), res, () => {});
  })
  .listen(Number(port), '127.0.0.1', () => console.error(`node listening on ${port}`));
