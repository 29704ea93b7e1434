import type { Logger } from 'pino';
import type { Config, UpstreamConfig } from './config/config.js';
import type { Credentials } from './identity/authenticator.js';
import { createAuthenticatorChain } from './identity/chain.js';
import { createAuthenticators } from './identity/providers.js';
import type { Identity } from './identity/identity.js';
import { createLimits, type LimitsRuntime } from './limits/create-limiter.js';
import { createGatewayMetrics, registerReadyGauge } from './observability/metrics.js';
import { createQueryCostAccounting } from './observability/query-cost-accounting.js';
import { createOtlpTracer, createPropagatingTracer } from './observability/tracing.js';
import { createHostRouter } from './routing/host-routes.js';
import { createTokenSource } from './identity/static-token.js';
import { createAdminHandler } from './server/admin-handler.js';
import type { Clock } from './core/clock.js';
import type { PipelineDeps } from './server/pipeline.js';
import { createProxyHandler } from './server/proxy-handler.js';
import type { ReadinessCheck } from './core/readiness.js';
import type { ServedApp } from './server/served-app.js';
import { createUpgradeHandler } from './server/upgrade.js';
import { createAwsCredentialMetrics } from './upstream/aws-credentials/metrics.js';
import { createUpstream, needsBalancer, type BuiltUpstream } from './upstream/create-upstream.js';
import { createBalancerMetrics } from './upstream/balancer/balancer-metrics.js';
import { systemResolver, type HostResolver } from './upstream/balancer/dns-discovery.js';
import { createSigner, type Signer } from './upstream/sigv4.js';
import { createHeaderPolicy } from './upstream/headers.js';
import type { Preset } from './routing/endpoint.js';
import type { DecisionSink } from './observability/decision-log/record.js';
import { openDecisionLog, type SharedDecisionLog } from './observability/decision-log/open.js';
import { createDecisionRecorder } from './server/record-decision.js';

export interface AppDeps {
  readonly logger: Logger;
  readonly clock: Clock;
  /** Process metrics (CPU, heap) are collected unless false; tests running many apps turn them off. */
  readonly collectProcessMetrics?: boolean;
  /** The app this one replaces (reload): limit counters of unchanged rules carry over. */
  readonly previous?: App;
  /** The endpoint table of an upstream, when not its type's built-in preset (tests bring presets of their own). */
  readonly presetFor?: (upstream: UpstreamConfig) => Preset | undefined;
  /** How backends' host names are resolved (DNS discovery); the system's resolver unless a test gives one. */
  readonly resolveHost?: HostResolver;
  /** Receives every decision record, whatever `[decision_log]` says (`scopegate test` reads its cases' outcomes here). */
  readonly decisionSink?: DecisionSink;
}

export interface App extends ServedApp {
  readonly limits: LimitsRuntime;
  /** The configured authenticator chain, as the pipeline runs it (used by `explain`). */
  authenticate(credentials: Credentials): Promise<Identity>;
  /** `[decision_log]`'s sink, handed to the app that replaces this one when it writes to the same place. */
  readonly decisionLog: SharedDecisionLog | undefined;
}

/**
 * The composition root: builds every part from the config and wires it. No logic of its own. Async because
 * some parts load files at build time (users, ACL, secrets); a file that cannot be used rejects here.
 */
export async function createApp(config: Config, deps: AppDeps): Promise<App> {
  const { logger, clock } = deps;
  const metrics = createGatewayMetrics({ collectProcessMetrics: deps.collectProcessMetrics ?? true });
  const tokenSource = await createTokenSource(config, { logger, clock, registry: metrics.registry });
  const providers = await createAuthenticators(config, {
    logger,
    clock,
    registry: metrics.registry,
    ...(tokenSource ? { staticAuthenticator: tokenSource.authenticator } : {}),
  });
  const chain = createAuthenticatorChain(providers.authenticators, {
    clock,
    challenge: challengeFor(config),
    observe: (authenticator, result) => metrics.recordAuthentication(authenticator, result),
    presented: providers.presented,
  });

  const signedUpstreams = config.proxy.upstreams.filter((u) => u.sign !== undefined);
  const credentialMetrics = signedUpstreams.length > 0 ? createAwsCredentialMetrics(metrics.registry, () => clock.now()) : undefined;
  const upstreams: { config: UpstreamConfig; signer: Signer | undefined; built: BuiltUpstream }[] = [];
  const upstreamDeps = {
    clock,
    balancerMetrics: config.proxy.upstreams.some(needsBalancer) ? createBalancerMetrics(metrics.registry) : undefined,
    resolver: deps.resolveHost ?? systemResolver,
  };
  for (const upstreamConfig of config.proxy.upstreams) {
    const signer = upstreamConfig.sign
      ? await createSigner(
          { upstream: upstreamConfig.name ?? upstreamConfig.upstream.host, sign: upstreamConfig.sign },
          { clock, logger, ...(credentialMetrics ? { metrics: credentialMetrics } : {}) },
        )
      : undefined;
    upstreams.push({
      config: upstreamConfig,
      signer,
      built: createUpstream(upstreamConfig, signer, { ...upstreamDeps, preset: deps.presetFor?.(upstreamConfig) }),
    });
  }
  const tracer = config.tracing ? await createOtlpTracer(config.tracing, logger) : createPropagatingTracer();
  const limits = await createLimits(config.limits, {
    logger,
    registry: metrics.registry,
    now: () => clock.now(),
    previous: deps.previous?.limits,
  });
  const decisionLog = config.decision_log
    ? await openDecisionLog(config.decision_log, { logger, now: () => clock.now(), previous: deps.previous?.decisionLog })
    : undefined;
  decisionLog?.useRegistry(metrics.registry);
  // Decision records go to `scopegate test`'s sink or the log; query cost is metered on the response path instead.
  const decisionSink = deps.decisionSink ?? decisionLog;
  const decisions =
    decisionSink === undefined
      ? undefined
      : createDecisionRecorder(decisionSink, {
          queries: deps.decisionSink ? 'text' : (config.decision_log?.queries ?? 'none'),
          failClosed: deps.decisionSink === undefined && config.decision_log?.on_overflow === 'fail_closed',
          now: () => clock.now(),
        });
  const queryCost = config.query_cost.enabled
    ? createQueryCostAccounting(metrics.registry, config.query_cost, () => clock.now())
    : undefined;
  const findRoute = createHostRouter(upstreams.map(({ config: c, built }) => ({ config: c, target: built.target })));

  const pipelineDeps: PipelineDeps = {
    findRoute,
    chain,
    tokenHeaders: config.proxy.token_headers,
    headerPolicy: createHeaderPolicy(
      config.proxy.token_headers,
      config.proxy.strip_headers,
      config.proxy.upstreams.map((u) => u.tenant_header),
    ),
    maxBodyBytes: config.proxy.max_body_bytes,
    maxFilterBytes: config.proxy.max_response_filter_bytes,
    onUpstreamError: (upstream, kind) => metrics.upstreamErrors.inc({ upstream, kind }),
    limiter: limits.limiter,
    queryCost,
    ...(decisions?.check ? { checkDecisionLog: decisions.check } : {}),
  };
  const readiness: ReadinessCheck[] = [
    ...(tokenSource ? [tokenSource.refresher.readiness] : []),
    ...providers.readiness,
    ...upstreams.flatMap(({ signer }) => (signer ? [signer.readiness] : [])),
    ...upstreams.flatMap(({ built }) => (built.balanced ? [built.balanced.readiness] : [])),
    ...limits.limiter.readiness,
  ];
  let accepting = true;
  registerReadyGauge(metrics.registry, () => accepting && readiness.every((check) => check.notReadyReason() === undefined));

  return {
    config,
    metrics,
    handleProxy: createProxyHandler(pipelineDeps, logger, metrics, tracer, decisions),
    handleUpgrade: createUpgradeHandler(pipelineDeps, logger, metrics, tracer, decisions),
    handleAdmin: createAdminHandler({
      registry: metrics.registry,
      readiness: () => readiness,
      isAccepting: () => accepting,
      ...(queryCost ? { queryCost: (by) => queryCost.report(by) } : {}),
    }),
    readiness,
    limits,
    decisionLog,
    authenticate: async (credentials) => chain.authenticate(credentials),
    async start() {
      // Every source's first load, in parallel; each is bounded by its own fetch timeout. JWKS and OIDC keys
      // were already awaited while building (createAuthenticators).
      await Promise.all([
        tokenSource?.refresher.start(),
        ...upstreams.map(({ signer }) => signer?.whenStarted()),
        ...upstreams.map(({ built }) => built.start()),
        limits.start(),
      ]);
    },
    async close() {
      tokenSource?.refresher.close();
      await providers.close();
      await Promise.all(upstreams.map(({ built }) => built.close()));
      await tracer.shutdown();
      await limits.limiter.close();
      await decisionLog?.close();
    },
    setAccepting(value) {
      accepting = value;
    },
  };
}

/** RFC 9110 §11.6.1: one challenge per scheme the gateway accepts. */
function challengeFor(config: Config): string {
  const challenges = ['Bearer realm="scopegate"'];
  if (config.auth.basic) challenges.push('Basic realm="scopegate", charset="UTF-8"');
  return challenges.join(', ');
}
