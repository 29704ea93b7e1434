import { createServer, type Server } from 'node:http';

/**
 * The demo's live data: an exporter whose counters grow, with series for two tenants (namespace team-a and
 * team-b) and one cluster-wide series without the label. Prometheus scrapes it with `honor_labels`.
 */
export function startDemoExporter(port: number): Promise<Server> {
  const started = Date.now();
  const server = createServer((_req, res) => {
    const seconds = Math.floor((Date.now() - started) / 1000);
    const lines = [
      '# TYPE http_requests_total counter',
      `http_requests_total{namespace="team-a",job="api",code="200"} ${100 + seconds * 3}`,
      `http_requests_total{namespace="team-a",job="api",code="500"} ${10 + seconds}`,
      `http_requests_total{namespace="team-b",job="api",code="200"} ${200 + seconds * 5}`,
      '# TYPE deployment_replicas gauge',
      'deployment_replicas{namespace="team-a",cluster="eu-1"} 3',
      'deployment_replicas{namespace="team-b",cluster="eu-1"} 2',
      '# TYPE node_boot_time_seconds gauge',
      'node_boot_time_seconds{instance="node-1"} 1600000000',
      '',
    ];
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(lines.join('\n'));
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}
