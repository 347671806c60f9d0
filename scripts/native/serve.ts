// A one-file HTTP server on 127.0.0.1 that hands the tarball to tfjs-node's installer, which only
// knows how to download libtensorflow (TFJS_NODE_BASE_URI). Port 0: the OS picks a free port.

import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';

export interface LoopbackServer {
  /** The value for TFJS_NODE_BASE_URI: the installer appends `<variant>-linux-x86_64-2.9.1.tar.gz`. */
  baseUri: string;
  /** How many times the file was fetched (0 after the install means the installer used something else). */
  served: () => number;
  close: () => Promise<void>;
}

export function serveFile(file: string, name: string): Promise<LoopbackServer> {
  let served = 0;
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== `/${name}`) {
      res.writeHead(404).end();
      return;
    }
    served++;
    res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': fs.statSync(file).size });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        baseUri: `http://127.0.0.1:${port}/libtensorflow-`,
        served: () => served,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
