import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { checkConfigFile } from '../../src/cli/check-files.js';
import { loadConfigFile } from '../../src/config/load.js';

// Issue #13, Kubernetes: deploy/kubernetes/base (kustomize) and the overlay in front of Mimir and Loki are
// rendered with the real `kubectl kustomize`, every rendered object is validated against the Kubernetes (and
// Prometheus Operator) schemas of the kubernetes-models packages, the settings the issue asks for are pinned,
// and the rendered config, with the Secret's token file beside it, passes `scopegate check-config`.

const run = promisify(execFile);
const KUSTOMIZATIONS = ['deploy/kubernetes/base', 'deploy/kubernetes/overlays/lgtm'];
const CONFIG_PATH = '/etc/scopegate/config.toml';

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

/** The model of every kind the manifests may hold; a new kind must be added here to be validated. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
};

async function render(dir: string): Promise<K8sObject[]> {
  const { stdout } = await run('kubectl', ['kustomize', dir], { maxBuffer: 16 * 1024 * 1024 });
  return parseAllDocuments(stdout).map((doc) => doc.toJS() as K8sObject);
}

/**
 * Throws the model's schema error, if any. kustomize wraps a Secret's base64 at 70 columns; the API server
 * decodes with Go's base64, which skips newlines, while the schema's `byte` format does not: unwrap first.
 */
function validate(object: K8sObject): void {
  const Model = MODELS[`${object.apiVersion}/${object.kind}`];
  if (Model === undefined) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  const copy = structuredClone(object);
  if (copy.kind === 'Secret' && copy.data) {
    copy.data = Object.fromEntries(Object.entries(copy.data as Record<string, string>).map(([k, v]) => [k, v.replace(/\s+/g, '')]));
  }
  new Model(copy as never).validate();
}

function find(objects: readonly K8sObject[], kind: string): K8sObject & Record<string, any> {
  const found = objects.filter((o) => o.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0] as K8sObject & Record<string, any>;
}

/** Go-style durations of the config ("30s", "1m30s") in seconds, through the gateway's own loader. */
async function shutdownTimeoutSeconds(configPath: string): Promise<number> {
  return (await loadConfigFile(configPath)).proxy.shutdown_timeout / 1000;
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scopegate-k8s-'));
});
after(() => rm(dir, { recursive: true, force: true }));

for (const kustomization of KUSTOMIZATIONS) {
  describe(kustomization, () => {
    let objects: K8sObject[];
    before(async () => {
      objects = await render(kustomization);
    });

    test('renders the objects of the issue, each valid against its schema', () => {
      assert.deepEqual(objects.map((o) => o.kind).sort(), [
        'ConfigMap',
        'Deployment',
        'HorizontalPodAutoscaler',
        'PodDisruptionBudget',
        'PrometheusRule',
        'Secret',
        'Service',
        'ServiceMonitor',
      ]);
      for (const object of objects) assert.doesNotThrow(() => validate(object), `${object.kind} ${object.metadata.name}`);
    });

    test('a wrong field fails validation (the check is not vacuous)', () => {
      const deployment = structuredClone(find(objects, 'Deployment'));
      deployment.spec.template.spec.containers[0].ports[0].containerPort = '8000';
      assert.throws(() => validate(deployment), /containerPort must be integer/);
      const noContainers = structuredClone(find(objects, 'Deployment'));
      delete noContainers.spec.template.spec.containers;
      assert.throws(() => validate(noContainers), /must have required property containers/);
      const hpa = structuredClone(find(objects, 'HorizontalPodAutoscaler'));
      hpa.spec.metrics[0].resource.target.averageUtilization = '70%';
      assert.throws(() => validate(hpa), /averageUtilization must be integer/);
      const monitor = structuredClone(find(objects, 'ServiceMonitor'));
      monitor.spec.endpoints[0].interval = '30 seconds';
      assert.throws(() => validate(monitor), /interval must match pattern/);
      const rule = structuredClone(find(objects, 'PrometheusRule'));
      rule.spec.groups[0].rules[0].for = 'five minutes';
      assert.throws(() => validate(rule), /for must match pattern/);
      // The schemas do not close objects (Kubernetes' OpenAPI has no additionalProperties: false), so a
      // misspelt key passes them; the tests below read every setting that matters by its real name.
    });

    test('the Deployment: probes, security context, resources, heap settings, mounts, graceful drain', async () => {
      const deployment = find(objects, 'Deployment');
      const pod = deployment.spec.template.spec;
      const [container] = pod.containers;
      const ports = Object.fromEntries(container.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]));
      assert.deepEqual(ports, { proxy: 8000, admin: 8081 });
      assert.deepEqual(container.readinessProbe.httpGet, { path: '/ready', port: 'admin' });
      assert.deepEqual(container.startupProbe.httpGet, { path: '/ready', port: 'admin' });
      assert.deepEqual(container.livenessProbe.httpGet, { path: '/healthz', port: 'admin' });
      assert.match(container.image, /^scopegate:0\.1\.0$/);
      assert.deepEqual(container.args, ['serve', '--config', CONFIG_PATH]);

      assert.equal(pod.securityContext.runAsNonRoot, true);
      assert.ok(pod.securityContext.runAsUser > 0);
      assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
      assert.equal(container.securityContext.readOnlyRootFilesystem, true);
      assert.equal(container.securityContext.allowPrivilegeEscalation, false);
      assert.deepEqual(container.securityContext.capabilities.drop, ['ALL']);
      assert.ok(container.resources.requests.cpu && container.resources.requests.memory);
      assert.ok(container.resources.limits.memory);

      // The glibc heap setting is opt-in (docs/performance.md): not set here, as not in the image.
      const env = (container.env ?? []).map((e: { name: string }) => e.name);
      assert.ok(!env.some((name: string) => name.startsWith('MALLOC_')), env.join(' '));

      // The ConfigMap is mounted as a directory (a subPath mount would never see an update) at the config path.
      const configMap = find(objects, 'ConfigMap');
      const configVolume = pod.volumes.find((v: any) => v.configMap?.name === configMap.metadata.name);
      const configMount = container.volumeMounts.find((m: any) => m.name === configVolume.name);
      assert.equal(`${configMount.mountPath}/config.toml`, CONFIG_PATH);
      assert.equal(configMount.subPath, undefined);
      assert.ok(configMap.data['config.toml']);

      // SIGTERM comes after the preStop sleep; the drain (shutdown_timeout) must end before the kubelet's SIGKILL.
      const configFile = join(dir, `${kustomization.replaceAll('/', '-')}-grace.toml`);
      await writeFile(configFile, configMap.data['config.toml']);
      const drainSeconds = container.lifecycle.preStop.sleep.seconds + (await shutdownTimeoutSeconds(configFile));
      assert.ok(drainSeconds > 0);
      assert.ok(pod.terminationGracePeriodSeconds > drainSeconds, `${pod.terminationGracePeriodSeconds}s > ${drainSeconds}s`);
    });

    test('Service, PodDisruptionBudget, HorizontalPodAutoscaler and ServiceMonitor select the pods', () => {
      const podLabels = find(objects, 'Deployment').spec.template.metadata.labels as Record<string, string>;
      const selects = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => podLabels[k] === v);
      const service = find(objects, 'Service');
      assert.ok(selects(service.spec.selector));
      assert.deepEqual(
        service.spec.ports.map((p: any) => [p.name, p.port]),
        [
          ['proxy', 8000],
          ['admin', 8081],
        ],
      );
      assert.ok(selects(find(objects, 'PodDisruptionBudget').spec.selector.matchLabels));
      const hpa = find(objects, 'HorizontalPodAutoscaler');
      assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'scopegate' });
      assert.equal(hpa.spec.metrics[0].resource.name, 'cpu');
      const monitor = find(objects, 'ServiceMonitor');
      assert.ok(Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => service.metadata.labels?.[k] === v));
      assert.deepEqual(
        monitor.spec.endpoints.map((e: any) => [e.port, e.path]),
        [['admin', '/metrics']],
      );
    });

    test("the rendered config, with the Secret's token file, passes scopegate check-config", async () => {
      const pod = find(objects, 'Deployment').spec.template.spec;
      const [container] = pod.containers;
      const secret = find(objects, 'Secret');
      const tokensVolume = pod.volumes.find((v: any) => v.secret?.secretName === secret.metadata.name);
      const tokensMount = container.volumeMounts.find((m: any) => m.name === tokensVolume.name);
      const keys = Object.keys(secret.data);
      assert.equal(keys.length, 1, 'one token file in the Secret');
      const key = keys[0] as string;
      const mountedTokensPath = `${tokensMount.mountPath}/${key}`;

      const configText: string = find(objects, 'ConfigMap').data['config.toml'];
      assert.ok(
        configText.includes(`path = "${mountedTokensPath}"`),
        `the config reads the token file where the Secret is mounted (${mountedTokensPath})`,
      );
      const out = join(dir, kustomization.replaceAll('/', '-'));
      const tokensPath = join(out, key);
      const configPath = join(out, 'config.toml');
      await mkdir(out, { recursive: true });
      await writeFile(tokensPath, Buffer.from(secret.data[key], 'base64'));
      await writeFile(configPath, configText.replaceAll(mountedTokensPath, tokensPath));

      const { stdout } = await run(process.execPath, ['bin/scopegate.js', 'check-config', '--config', configPath]);
      assert.equal(stdout, `config ok: ${configPath}\n`);
      // And a broken token file is caught by the same check (check-config reads the files the config names);
      // in-process, as one spawn of the CLI per kustomization is slow enough on a loaded machine.
      await writeFile(tokensPath, '{ not json');
      const problems = await checkConfigFile(configPath);
      assert.ok(
        problems.some((problem) => problem.includes(tokensPath)),
        problems.join('\n'),
      );
    });
  });
}

test('the lgtm overlay routes Mimir and Loki with their components', async () => {
  const objects = await render('deploy/kubernetes/overlays/lgtm');
  const configPath = join(dir, 'lgtm-upstreams.toml');
  await writeFile(configPath, find(objects, 'ConfigMap').data['config.toml']);
  const config = await loadConfigFile(configPath);
  const byType = Object.fromEntries(config.proxy.upstreams.map((u) => [u.type, u]));
  assert.deepEqual(Object.keys(byType).sort(), ['loki', 'mimir']);
  assert.ok(byType.mimir?.components?.distributor && byType.mimir.components.query_frontend);
  assert.ok(byType.loki?.components?.distributor && byType.loki.components.query_frontend);
  assert.equal(config.backend_type, 'file');
  assert.equal(config.file?.watch, true);
  for (const object of objects) {
    assert.equal(object.metadata.namespace, 'observability', `${object.kind} namespace`);
  }
});
