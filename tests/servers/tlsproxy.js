#!/usr/bin/env node
// tlsproxy.js - an HTTPS front for a local HTTP server (e.g. radosgw), the
// kind of private endpoint that needs a custom CA bundle. It forwards every
// request unchanged (method, path, headers including Host, so SigV4
// signatures still verify) and streams the answer back.
//
// With --forward-proxy 1 it is instead a plain-HTTP forward proxy (what
// http_proxy names): requests arrive in absolute form ("GET http://host/p"),
// go to --target as "GET /p", and each prints "proxied METHOD" on stdout.
//
// Usage: node tlsproxy.js --port-file F (--cert CERT.pem --key KEY.pem |
//          --forward-proxy 1) --target http://127.0.0.1:PORT [--expired-ak AK]
// --expired-ak: a request signed with access key AK is answered, as AWS does
// for temporary credentials past their expiry, with 400 ExpiredToken (and
// not forwarded); each such answer prints "expired-token N" on stdout.
'use strict';
const https = require('https');
const http = require('http');
const fs = require('fs');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const target = new URL(args.target);
let expiredCount = 0;

function handle(req, res) {
  const auth = req.headers.authorization || '';
  if (args['expired-ak'] && auth.includes(`Credential=${args['expired-ak']}/`)) {
    process.stdout.write(`expired-token ${++expiredCount}\n`);
    const body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ExpiredToken</Code>' +
                 '<Message>The provided token has expired.</Message></Error>';
    req.resume();
    res.writeHead(400, {'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body)});
    return res.end(body);
  }
  let path = req.url;
  if (args['forward-proxy']) {
    const u = new URL(req.url); // absolute form
    path = u.pathname + u.search;
    process.stdout.write(`proxied ${req.method}\n`);
    delete req.headers['proxy-connection'];
  }
  const up = http.request({host: target.hostname, port: target.port, method: req.method,
                           path, headers: req.headers}, (ur) => {
    res.writeHead(ur.statusCode, ur.headers);
    ur.pipe(res);
  });
  up.on('error', (e) => { res.writeHead(502); res.end(String(e)); });
  req.pipe(up);
}
const server = args['forward-proxy'] ? http.createServer(handle)
  : https.createServer({cert: fs.readFileSync(args.cert), key: fs.readFileSync(args.key)}, handle);
server.listen(0, '127.0.0.1', () => {
  fs.writeFileSync(args['port-file'], String(server.address().port));
});
process.on('SIGTERM', () => process.exit(0));
