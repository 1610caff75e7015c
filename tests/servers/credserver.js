#!/usr/bin/env node
// credserver.js - the three AWS credential endpoints a process meets on AWS
// compute, on one local port, following AWS's documented wire protocols:
//
//   EC2 instance metadata, IMDSv2 only:
//     PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds (1..21600;
//       missing or out of range: 400; an X-Forwarded-For header: 403) -> token
//     GET /latest/meta-data/... without a valid, unexpired
//       X-aws-ec2-metadata-token: 401
//     GET /latest/meta-data/iam/security-credentials/       -> the role name
//     GET /latest/meta-data/iam/security-credentials/ROLE   -> JSON
//       {Code: "Success", LastUpdated, Type: "AWS-HMAC", AccessKeyId,
//        SecretAccessKey, Token, Expiration}
//     GET /latest/meta-data/placement/region                -> the region
//   ECS / EKS Pod Identity container endpoint:
//     GET /v2/credentials/ID; with --container-auth, the Authorization header
//       must equal it (else 401 JSON {"code","message"}) -> JSON
//       {AccessKeyId, SecretAccessKey, Token, Expiration, RoleArn}
//   STS AssumeRoleWithWebIdentity (Query API, POST form or GET query):
//     Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=&
//     RoleSessionName=&WebIdentityToken=; a token that differs from the
//     contents of --web-token-file: 400 <ErrorResponse> InvalidIdentityToken
//     -> <AssumeRoleWithWebIdentityResponse> XML with <Credentials>.
//
// What is handed out: with --assume-role ARN, a fresh temporary triple
// (key, secret, session token) from a real STS at --sts-endpoint (radosgw's,
// which then checks the token on every S3 request), fetched by an AssumeRole
// signed with --ak/--sk for each hand-out; else the --ak/--sk pair itself
// with an optional --token. Either way the Expiration is --ttl seconds ahead,
// whole seconds as AWS writes them, so that clients refresh that often. Each
// hand-out prints "issued SOURCE N" on stdout, so a test can count refreshes;
// with --secrets-file, the secret and token of each are appended to it, one a
// line, so a test can check that none is ever printed.
//
// Usage: node credserver.js --port-file F --ak AK --sk SK [--ttl S]
//          [--token T] [--region R] [--role NAME] [--container-auth A]
//          [--web-token-file PATH] [--first-ak AK0]
//          [--assume-role ARN --sts-endpoint URL] [--secrets-file PATH]
// --first-ak: the first hand-out of each source carries AK0 instead (a key a
// test's proxy answers with ExpiredToken), later ones the real --ak.
'use strict';
const http = require('http');
const fs = require('fs');
const crypto = require('crypto');
const {execFileSync} = require('child_process');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const ttl = Number(args.ttl || 3600);
const role = args.role || 'cirrus-test-role';
const region = args.region || 'us-east-1';
const counts = {imds: 0, container: 0, sts: 0};
const imdsTokens = new Map(); // token -> expiry (ms)

function expiration() {
  return new Date(Date.now() + ttl * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// A temporary triple from the real STS (AssumeRole, SigV4-signed by curl).
function assumeRole(n) {
  const form = new URLSearchParams({Action: 'AssumeRole', Version: '2011-06-15',
    RoleArn: args['assume-role'], RoleSessionName: `cirrus-test-${n}`, DurationSeconds: '900'});
  const xml = execFileSync('curl', ['-sS', '--max-time', '10', '--aws-sigv4', `aws:amz:${region}:sts`,
    '--user', `${args.ak}:${args.sk}`, '--data', form.toString(), args['sts-endpoint']]).toString();
  const field = (tag) => {
    const m = xml.match(new RegExp(`<${tag}>([^<]*)</${tag}>`));
    if (!m) throw new Error(`AssumeRole answered without <${tag}>: ${xml.slice(0, 300)}`);
    return m[1];
  };
  return {ak: field('AccessKeyId'), sk: field('SecretAccessKey'), token: field('SessionToken')};
}

// The triple of one hand-out by `source`.
function issued(source) {
  counts[source]++;
  process.stdout.write(`issued ${source} ${counts[source]}\n`);
  const c = args['assume-role'] ? assumeRole(counts[source]) :
                                  {ak: args.ak, sk: args.sk, token: args.token || ''};
  if (counts[source] === 1 && args['first-ak']) c.ak = args['first-ak'];
  if (args['secrets-file']) fs.appendFileSync(args['secrets-file'], `${c.sk}\n${c.token}\n`);
  return c;
}

function send(res, status, type, body) {
  res.writeHead(status, {'Content-Type': type, 'Content-Length': Buffer.byteLength(body)});
  res.end(body);
}

function xmlEscape(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function imds(req, res, path) {
  if (req.method === 'PUT' && path === '/latest/api/token') {
    if (req.headers['x-forwarded-for']) return send(res, 403, 'text/plain', 'Forbidden');
    const t = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
    if (!Number.isInteger(t) || t < 1 || t > 21600) return send(res, 400, 'text/plain', 'Bad Request');
    const token = crypto.randomBytes(24).toString('base64');
    imdsTokens.set(token, Date.now() + t * 1000);
    res.setHeader('X-aws-ec2-metadata-token-ttl-seconds', String(t));
    return send(res, 200, 'text/plain', token);
  }
  if (req.method !== 'GET') return send(res, 405, 'text/plain', 'Method Not Allowed');
  const exp = imdsTokens.get(req.headers['x-aws-ec2-metadata-token'] || '');
  if (!exp || exp < Date.now()) return send(res, 401, 'text/plain', 'Unauthorized');
  const base = '/latest/meta-data/iam/security-credentials/';
  if (path === base) return send(res, 200, 'text/plain', role);
  if (path === base + role) {
    const c = issued('imds');
    const doc = {Code: 'Success', LastUpdated: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
                 Type: 'AWS-HMAC', AccessKeyId: c.ak, SecretAccessKey: c.sk,
                 Token: c.token, Expiration: expiration()};
    return send(res, 200, 'text/plain', JSON.stringify(doc, null, 2));
  }
  if (path === '/latest/meta-data/placement/region') return send(res, 200, 'text/plain', region);
  return send(res, 404, 'text/html', '<html>404 - Not Found</html>');
}

function container(req, res) {
  if (args['container-auth'] && req.headers.authorization !== args['container-auth'])
    return send(res, 401, 'application/json',
                JSON.stringify({code: 'AccessDenied', message: 'invalid Authorization token'}));
  const c = issued('container');
  return send(res, 200, 'application/json', JSON.stringify({
    AccessKeyId: c.ak, SecretAccessKey: c.sk, Token: c.token,
    Expiration: expiration(), RoleArn: `arn:aws:iam::123456789012:role/${role}`}));
}

function stsError(res, status, code, message) {
  send(res, status, 'text/xml', `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error>
  <RequestId>${crypto.randomUUID()}</RequestId>
</ErrorResponse>`);
}

function sts(res, q) {
  if (q.get('Action') !== 'AssumeRoleWithWebIdentity')
    return stsError(res, 400, 'InvalidAction', `Could not find operation ${q.get('Action')}`);
  for (const k of ['RoleArn', 'RoleSessionName', 'WebIdentityToken'])
    if (!q.get(k)) return stsError(res, 400, 'MissingParameter', `The request must contain the parameter ${k}`);
  const want = args['web-token-file'] ? fs.readFileSync(args['web-token-file'], 'utf8').trim() : null;
  if (want !== null && q.get('WebIdentityToken') !== want)
    return stsError(res, 400, 'InvalidIdentityToken', 'Couldn\'t retrieve verification key from your identity provider');
  const c = issued('sts');
  const arn = q.get('RoleArn');
  send(res, 200, 'text/xml', `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:default:cirrus</SubjectFromWebIdentityToken>
    <AssumedRoleUser>
      <Arn>${xmlEscape(arn.replace(':role/', ':assumed-role/'))}/${xmlEscape(q.get('RoleSessionName'))}</Arn>
      <AssumedRoleId>AROACLKWSDQRAOEXAMPLE:${xmlEscape(q.get('RoleSessionName'))}</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>${xmlEscape(c.token)}</SessionToken>
      <SecretAccessKey>${xmlEscape(c.sk)}</SecretAccessKey>
      <Expiration>${expiration()}</Expiration>
      <AccessKeyId>${xmlEscape(c.ak)}</AccessKeyId>
    </Credentials>
    <Audience>sts.amazonaws.com</Audience>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>${crypto.randomUUID()}</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const url = new URL(req.url, 'http://localhost');
    const path = url.pathname;
    if (path.startsWith('/latest/')) return imds(req, res, path);
    if (path.startsWith('/v2/credentials/')) return container(req, res);
    if (path === '/') {
      const q = req.method === 'POST' ? new URLSearchParams(Buffer.concat(chunks).toString()) : url.searchParams;
      return sts(res, q);
    }
    send(res, 404, 'text/plain', 'Not Found');
  });
});
server.listen(0, '127.0.0.1', () => {
  fs.writeFileSync(args['port-file'], String(server.address().port));
});
process.on('SIGTERM', () => process.exit(0));
