// Starts s3rver (an S3-compatible server, npm package pinned in package.json) for tests:
//   node --openssl-legacy-provider tests/s3/run-s3rver.js <data-dir> [request-log]
// It listens on 127.0.0.1 on a free port, prints "PORT <n>" on stdout once ready, and stops
// when stdin closes or on SIGTERM/SIGINT, so a test that dies never leaves it running.
// With a request log, it appends "METHOD URL" for every request (tests check that multipart
// uploads really were multipart: s3rver's ETags do not show the part count).
// --openssl-legacy-provider: s3rver encrypts ListObjectsV2 continuation tokens with DES, which
// OpenSSL 3 only offers through its legacy provider.
"use strict";

const fs = require("fs");
const path = require("path");
const S3rver = require(path.join(__dirname, "..", "..", "node_modules", "s3rver"));

const [directory, requestLog] = process.argv.slice(2);
if (!directory) {
  process.stderr.write("usage: run-s3rver.js <data-dir> [request-log]\n");
  process.exit(2);
}

const server = new S3rver({ port: 0, address: "127.0.0.1", directory, silent: true });
server.run().then(
  (address) => {
    if (requestLog) {
      server.httpServer.on("request", (req) => {
        fs.appendFileSync(requestLog, `${req.method} ${req.url}\n`);
      });
    }
    process.stdout.write(`PORT ${address.port}\n`);
  },
  (err) => {
    process.stderr.write(`s3rver failed to start: ${err}\n`);
    process.exit(1);
  },
);

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  server.close().then(
    () => process.exit(0),
    () => process.exit(0),
  );
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop);
process.stdin.on("error", stop);
process.stdin.resume();
