import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { GRAFANA_DS_TOKEN, startGrafanaGateway } from '../servers/grafana-gateway.js';
import { createTestPki, type CertFiles } from '../servers/tls-certs.js';

// Issue #20, item 2: the data source's channel may be a client certificate (Grafana's data source "TLS Client
// Auth"): the listener verifies it against client_ca_file, and its subject CN must be a presenter.

function httpsGet(
  port: number,
  ca: string,
  cert: CertFiles | undefined,
  headers: Record<string, string>,
): Promise<{ status: number; code: unknown }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/api/v1/query?query=up',
        ca,
        agent: false,
        headers,
        ...(cert !== undefined ? { cert: cert.cert, key: cert.key } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('end', () => {
          const body = Buffer.concat(chunks).toString();
          resolve({
            status: res.statusCode ?? 0,
            code: res.statusCode === 200 ? undefined : (JSON.parse(body) as { code?: unknown }).code,
          });
        });
      },
    );
    req.once('error', reject);
    req.end();
  });
}

test('a client certificate can be the channel: its CN presents Grafana users; another CN, or none, cannot', async (t) => {
  const pki = await createTestPki();
  t.after(() => pki.remove());
  const [server, grafanaCert, otherCert] = await Promise.all([
    pki.issue('gateway'),
    pki.issue('grafana-datasource'),
    pki.issue('someone-else'),
  ]);
  const g = await startGrafanaGateway(t, {
    tls: { cert_file: server.certFile, key_file: server.keyFile, client_ca_file: pki.caFile },
    grafana: { presenters: [{ client_certificate: 'grafana-datasource' }] },
  });
  const port = g.gateway.server.proxyAddress.port;
  const user = { 'x-grafana-id': await g.sign({ claims: { sub: 'user:8' } }) };
  assert.deepEqual(await httpsGet(port, pki.ca, grafanaCert, user), { status: 200, code: undefined });
  assert.equal(new URL(g.upstream.requests[0]?.url ?? '', 'http://x').searchParams.get('query'), 'up{namespace="team-b"}');
  g.upstream.reset();
  assert.deepEqual(await httpsGet(port, pki.ca, otherCert, user), { status: 403, code: 'grafana_channel_not_allowed' });
  // The certificate alone is no identity: without X-Grafana-Id it gets nothing of its own.
  assert.deepEqual(await httpsGet(port, pki.ca, grafanaCert, {}), { status: 401, code: 'missing_credentials' });
  // The data source token is no presenter in this config: it does not lend another certificate the channel.
  assert.equal((await httpsGet(port, pki.ca, otherCert, { ...user, authorization: `Bearer ${GRAFANA_DS_TOKEN}` })).status, 403);
  assert.equal(g.upstream.requests.length, 0);
  await assert.rejects(httpsGet(port, pki.ca, undefined, user), 'no client certificate: the TLS listener refuses the connection');
});
