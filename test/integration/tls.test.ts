import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request as httpsRequest, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { parseConfig } from '../../src/config/load.js';
import { startTestGateway, type StartedGateway } from '../servers/gateway.js';
import { sendRaw } from '../servers/http-client.js';
import { createTempTokenFile, type TempTokenFile } from '../servers/temp-token-file.js';
import { createTestPki, type CertFiles, type TestPki } from '../servers/tls-certs.js';

// TLS both ways, with certificates from a throwaway CA (openssl): upstreams behind a private CA and mTLS, and
// an HTTPS listener with optional client certificates, whose certificate a reload rotates without a restart.

let pki: TestPki;
let otherPki: TestPki;
let tokens: TempTokenFile;
let upstreamCert: CertFiles;
let gatewayClient: CertFiles;
let plainTls: Server;
let mutualTls: Server;

function startHttpsUpstream(options: { cert: string; key: string; ca?: string; requestCert?: boolean }): Promise<Server> {
  const server = createServer({ ...options, rejectUnauthorized: options.requestCert === true }, (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ client: peer?.subject?.CN ?? null, tenant: req.headers['x-scope-orgid'] }));
  });
  server.listen(0, '127.0.0.1');
  return once(server, 'listening').then(() => server);
}

const origin = (server: Server) => `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

before(async () => {
  [pki, otherPki] = await Promise.all([createTestPki('scopegate-test-ca'), createTestPki('some-other-ca')]);
  upstreamCert = await pki.issue('upstream');
  gatewayClient = await pki.issue('scopegate-gateway');
  plainTls = await startHttpsUpstream({ cert: upstreamCert.cert, key: upstreamCert.key });
  mutualTls = await startHttpsUpstream({ cert: upstreamCert.cert, key: upstreamCert.key, ca: pki.ca, requestCert: true });
  tokens = await createTempTokenFile({ 'tok-a': 'tenant-a' });
});

after(async () => {
  plainTls.close();
  mutualTls.close();
  await Promise.all([pki.remove(), otherPki.remove(), tokens.remove()]);
});

describe('TLS to upstreams', () => {
  let gateway: StartedGateway;
  before(async () => {
    gateway = await startTestGateway({
      log_level: 'silent',
      backend_type: 'file',
      file: { path: tokens.path },
      proxy: {
        upstreams: [
          { name: 'private-ca', match: 'ca\\.example', upstream: origin(plainTls), tls: { ca_file: pki.caFile } },
          { name: 'default-trust', match: 'default\\.example', upstream: origin(plainTls) },
          { name: 'wrong-ca', match: 'wrong\\.example', upstream: origin(plainTls), tls: { ca_file: otherPki.caFile } },
          { name: 'skip-verify', match: 'skip\\.example', upstream: origin(plainTls), tls: { insecure_skip_verify: true } },
          {
            name: 'mtls',
            match: 'mtls\\.example',
            upstream: origin(mutualTls),
            tls: { ca_file: pki.caFile, cert_file: gatewayClient.certFile, key_file: gatewayClient.keyFile },
          },
          { name: 'mtls-no-cert', match: 'nocert\\.example', upstream: origin(mutualTls), tls: { ca_file: pki.caFile } },
        ],
      },
    });
  });
  after(() => gateway.stop());

  const send = async (host: string) => {
    const res = await sendRaw(gateway.url, { path: '/x', headers: { host, authorization: 'Bearer tok-a' } });
    return { status: res.status, body: res.json() };
  };

  test('upstream behind a private CA: trusted with ca_file, 502 with the system store or another CA, anything with insecure_skip_verify', async () => {
    assert.deepEqual(await send('ca.example'), { status: 200, body: { client: null, tenant: 'tenant-a' } });
    for (const host of ['default.example', 'wrong.example']) {
      const res = await send(host);
      assert.equal(res.status, 502, host);
      assert.equal(res.body.code, 'upstream_tls_error', host);
    }
    assert.equal((await send('skip.example')).status, 200);
  });

  test('mTLS upstream: the gateway presents cert_file/key_file; without them the upstream refuses the handshake (502)', async () => {
    assert.deepEqual(await send('mtls.example'), { status: 200, body: { client: 'scopegate-gateway', tenant: 'tenant-a' } });
    assert.equal((await send('nocert.example')).status, 502);
  });
});

/** GET over HTTPS to the gateway; resolves with the status and the certificate the gateway presented. */
function httpsGet(port: number, options: { ca: string; cert?: CertFiles }): Promise<{ status: number; serverSerial: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/x',
        ca: options.ca,
        agent: false,
        headers: { authorization: 'Bearer tok-a' },
        ...(options.cert ? { cert: options.cert.cert, key: options.cert.key } : {}),
      },
      (res) => {
        res.resume();
        res.once('end', () =>
          resolve({ status: res.statusCode ?? 0, serverSerial: (res.socket as TLSSocket).getPeerCertificate().serialNumber }),
        );
      },
    );
    req.once('error', reject);
    req.end();
  });
}

test('HTTPS listener: served with proxy.tls; a reload rotates the certificate on the same listener', async () => {
  const first = await pki.issue('gateway-1');
  const second = await pki.issue('gateway-2');
  const raw = (cert: CertFiles) => ({
    log_level: 'silent',
    backend_type: 'file',
    file: { path: tokens.path },
    proxy: {
      listen: '127.0.0.1:0',
      tls: { cert_file: cert.certFile, key_file: cert.keyFile },
      upstreams: [{ match: '.*', upstream: origin(plainTls), tls: { ca_file: pki.caFile } }],
    },
  });
  const gateway = await startTestGateway(raw(first));
  try {
    const port = gateway.server.proxyAddress.port;
    const before = await httpsGet(port, { ca: pki.ca });
    assert.equal(before.status, 200);
    await assert.rejects(fetch(`http://127.0.0.1:${port}/x`), 'plain HTTP is not served on the TLS listener');

    const next = parseConfig({
      admin: { listen: '127.0.0.1:0' },
      ...raw(second),
      proxy: { ...raw(second).proxy, listen: `127.0.0.1:${port}` },
    });
    assert.equal(await gateway.server.reload(next), true);
    const after = await httpsGet(port, { ca: pki.ca });
    assert.equal(after.status, 200);
    assert.notEqual(after.serverSerial, before.serverSerial, 'new connections get the new certificate');
  } finally {
    await gateway.stop();
  }
});

test('HTTPS listener with client_ca_file: a client without a certificate from that CA never gets a request in', async () => {
  const server = await pki.issue('gateway');
  const client = await pki.issue('grafana');
  const stranger = await otherPki.issue('stranger');
  const gateway = await startTestGateway({
    log_level: 'silent',
    backend_type: 'file',
    file: { path: tokens.path },
    proxy: {
      tls: { cert_file: server.certFile, key_file: server.keyFile, client_ca_file: pki.caFile },
      upstreams: [{ match: '.*', upstream: origin(plainTls), tls: { ca_file: pki.caFile } }],
    },
  });
  try {
    const port = gateway.server.proxyAddress.port;
    assert.equal((await httpsGet(port, { ca: pki.ca, cert: client })).status, 200);
    await assert.rejects(httpsGet(port, { ca: pki.ca }), 'no client certificate');
    await assert.rejects(httpsGet(port, { ca: pki.ca, cert: stranger }), 'a certificate of another CA');
  } finally {
    await gateway.stop();
  }
});

test('a missing certificate file is a config error naming the key, before anything listens', async () => {
  await assert.rejects(
    startTestGateway({
      backend_type: 'file',
      file: { path: tokens.path },
      proxy: {
        tls: { cert_file: '/nonexistent/cert.pem', key_file: '/nonexistent/key.pem' },
        upstreams: [{ match: '.*', upstream: origin(plainTls) }],
      },
    }),
    (error: Error & { problems?: string[] }) => {
      assert.deepEqual(error.problems, ['proxy.tls.cert_file: /nonexistent/cert.pem: cannot read (ENOENT: no such file: check the path)']);
      return true;
    },
  );
});
