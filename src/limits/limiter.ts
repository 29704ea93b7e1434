import type { LimitsSection } from '../config/sections/limits.js';
import { readRequestParams } from '../enforce/params.js';
import type { ProxyRequest } from '../routing/endpoint.js';
import { toHttpError } from '../routing/presets/enforce-http-errors.js';
import { BadRequest } from '../core/http-errors.js';
import type { ReadinessCheck } from '../core/readiness.js';
import { LimitBackendError, type LimitBackend, type Slot } from './backend.js';
import { LimitsUnavailable, QueryTooExpensive, TooManyRequests, WriteTooLarge } from './limit-errors.js';
import type { LimitMetrics } from './limit-metrics.js';
import type { MaybePromise } from '../core/maybe-async.js';
import { checkQueryCost, isCostedQuery, QueryCostError } from './query-cost.js';
import { createAdmissionQueue } from './admission-queue.js';
import { chargeBudgets, findSpentBudget, type BudgetDeps, type QueryCharge } from './query-budgets.js';
import { compileLimitRule, tenantSetKey, type LimitRule, type LimitSubject } from './rules.js';
import { countWriteSeries } from './write-series.js';

/**
 * The limits stage: which `[[limits.rules]]` apply to a request, and whether it may go on.
 *
 * `admit` runs once the request is authenticated, routed and its tenants resolved: rate (GCRA) on every
 * matching rule, then a concurrency slot on every matching rule; a refusal is 429 `rate_limited` or
 * `concurrency_limited` with Retry-After. The returned `Admission` then checks the request as it will be sent
 * (after enforcement): query cost guards (422) and write size (413/422). `release` frees the slots when the
 * response ends. A backend failure (Redis slow or down) is allowed or refused (503 `limits_unavailable`) per
 * `on_backend_error`, and counted.
 *
 * A request refused by one rule may already have used a unit of another rule's rate: rules are checked in
 * order and a refusal does not give back what earlier rules took (as two independent limiters would).
 */
export interface Limiter {
  /** At once (no promise) when no rule matches: the common case costs the request nothing to wait for. */
  admit(subject: LimitSubject, contentLength: number | undefined): MaybePromise<Admission>;
  readonly readiness: readonly ReadinessCheck[];
  close(): Promise<void>;
}

export interface Admission {
  /** The rules that decided (for the access log); empty when none matched. */
  readonly ruleNames: readonly string[];
  /** Cost and size guards on the request as it will be sent. */
  check(request: ProxyRequest): MaybePromise<void>;
  /** A finished query's cost, spent from the budgets of the rules that matched it (not awaited). */
  charge(cost: QueryCharge): void;
  release(): void;
}

export type { QueryCharge } from './query-budgets.js';

export interface LimiterDeps {
  readonly backend: LimitBackend;
  readonly metrics: LimitMetrics;
  readonly now: () => number;
  /** Redis only: what a failed call means. */
  readonly onBackendError: 'allow' | 'deny';
  /** Called with a failed call's error (rate-limit the logging there). */
  readonly reportBackendError: (error: LimitBackendError) => void;
}

const NO_LIMITS: Admission = Object.freeze({ ruleNames: [], check: () => undefined, charge: () => {}, release: () => {} });

export function compileLimitRules(config: LimitsSection): LimitRule[] {
  return config.rules.map((rule) => compileLimitRule(rule));
}

/** How often the first waiter of a queue looks for a slot freed elsewhere (another replica, through Redis). */
const QUEUE_POLL_MS = 100;
/** Waiters per counter beyond which a request is refused at once (`concurrency_limited`). */
const MAX_QUEUE_LENGTH = 1_000;

export function createLimiter(rules: readonly LimitRule[], deps: LimiterDeps): Limiter {
  const { backend, metrics } = deps;
  const queue = createAdmissionQueue({ pollMs: QUEUE_POLL_MS, maxLength: MAX_QUEUE_LENGTH });

  /** A backend call, with `on_backend_error` applied: `fallback` when allowed, 503 when denied. */
  async function guarded<T>(call: Promise<T>, fallback: T): Promise<T> {
    try {
      return await call;
    } catch (error) {
      if (!(error instanceof LimitBackendError)) throw error;
      metrics.backendErrors.inc({ backend: backend.kind, action: deps.onBackendError === 'allow' ? 'allowed' : 'denied' });
      deps.reportBackendError(error);
      if (deps.onBackendError === 'deny') throw new LimitsUnavailable();
      return fallback;
    }
  }

  const budgetDeps: BudgetDeps = { backend, now: deps.now, guarded };

  function refuse(subject: LimitSubject, limit: string, error: Error): never {
    metrics.limited.inc({ tenant: tenantSetKey(subject.tenants), limit });
    throw error;
  }

  async function takeRates(matched: readonly LimitRule[], subject: LimitSubject): Promise<void> {
    const now = deps.now();
    for (const rule of matched) {
      if (rule.rate === undefined) continue;
      const decision = await guarded(backend.takeRate(rule.id, rule.bucketKey(subject), rule.rate, now), {
        allowed: true,
        retryAfterMs: 0,
      });
      if (!decision.allowed) {
        refuse(subject, 'rate', rateLimited(rule, decision.retryAfterMs));
      }
    }
  }

  async function acquireSlots(matched: readonly LimitRule[], subject: LimitSubject): Promise<(() => void)[]> {
    const releases: (() => void)[] = [];
    for (const rule of matched) {
      const max = rule.config.concurrency;
      if (max === undefined) continue;
      const key = rule.bucketKey(subject);
      // The queue's line (rule and counter); only rules with a queue have one.
      const line = rule.config.max_queue_duration === undefined ? undefined : `${rule.id}\u0000${key}`;
      let slot: Slot | undefined;
      try {
        slot = await acquireSlot(rule, subject, key, line, max);
      } catch (error) {
        for (const release of releases) release();
        throw error;
      }
      const gauge = metrics.inFlight.labels({ rule: rule.name });
      gauge.inc();
      const held = slot;
      releases.push(() => {
        gauge.dec();
        held.release();
        if (line !== undefined) queue.wake(line);
      });
    }
    return releases;
  }

  /**
   * One slot of the rule: at once, or (with `max_queue_duration`) after waiting in the rule's fair queue
   * (admission-queue.ts); a request that arrives while others wait queues behind them. Refused: 429
   * `concurrency_limited` at once, or `queue_timeout` once it waited its longest.
   */
  async function acquireSlot(rule: LimitRule, subject: LimitSubject, key: string, line: string | undefined, max: number): Promise<Slot> {
    const take = () => guarded(backend.acquireSlot(rule.id, key, max, deps.now()), { release: () => {} });
    const maxWaitMs = rule.config.max_queue_duration;
    if (line === undefined || maxWaitMs === undefined || !queue.isBusy(line)) {
      const slot = await take();
      if (slot) return slot;
    }
    const refuseNow = () => refuse(subject, 'concurrency', concurrencyLimited(rule));
    if (line === undefined || maxWaitMs === undefined) return refuseNow();
    const startMs = performance.now();
    const ticket = queue.join(line, `${subject.identity.authenticator}:${subject.identity.subject}`, maxWaitMs);
    if (!ticket) return refuseNow();
    const queued = metrics.queueLength.labels({ rule: rule.name });
    queued.inc();
    let slot: Slot | undefined;
    try {
      while (slot === undefined) {
        if ((await ticket.next()) === 'timeout') break;
        slot = await take();
      }
    } finally {
      ticket.leave(slot !== undefined);
      queued.dec();
      metrics.queueWait.observe({ rule: rule.name, outcome: slot ? 'admitted' : 'timeout' }, (performance.now() - startMs) / 1000);
    }
    if (slot) return slot;
    return refuse(
      subject,
      'queue_timeout',
      new TooManyRequests(
        'queue_timeout',
        `${max} requests stayed in flight for ${maxWaitMs} ms while this one waited (rule ${rule.name})`,
        rule.name,
        maxWaitMs,
      ),
    );
  }

  /**
   * `takeRates` then `acquireSlots` in one backend call (Redis: one round trip), same order, same answers. The
   * slots are freed together, by one `release` the response does not wait for.
   */
  async function admitAtOnce(matched: readonly LimitRule[], subject: LimitSubject): Promise<(() => void)[]> {
    const counted = matched.filter((rule) => rule.rate !== undefined || rule.config.concurrency !== undefined);
    if (counted.length === 0 || backend.admit === undefined) return [];
    const checks = counted.map((rule) => ({
      ruleId: rule.id,
      key: rule.bucketKey(subject),
      rate: rule.rate,
      maxInFlight: rule.config.concurrency,
    }));
    const decision = await guarded(backend.admit(checks, deps.now()), { admitted: true, release: () => {} });
    if (!decision.admitted) {
      const rule = counted[decision.index] as LimitRule;
      if (decision.limit === 'rate') refuse(subject, 'rate', rateLimited(rule, decision.retryAfterMs));
      refuse(subject, 'concurrency', concurrencyLimited(rule));
    }
    const gauges = counted
      .filter((rule) => rule.config.concurrency !== undefined)
      .map((rule) => metrics.inFlight.labels({ rule: rule.name }));
    if (gauges.length === 0) return [];
    for (const gauge of gauges) gauge.inc();
    return [
      () => {
        for (const gauge of gauges) gauge.dec();
        decision.release();
      },
    ];
  }

  return {
    readiness: backend.readiness ? [backend.readiness] : [],
    admit(subject, contentLength) {
      if (rules.length === 0) return NO_LIMITS;
      const matched = rules.filter((rule) => rule.matches(subject));
      return matched.length === 0 ? NO_LIMITS : admitMatched(matched, subject, contentLength);
    },
    close: () => backend.close(),
  };

  async function admitMatched(matched: readonly LimitRule[], subject: LimitSubject, contentLength: number | undefined): Promise<Admission> {
    for (const rule of matched) checkBodyBytes(rule, contentLength, subject);
    // Budgets bound what queries cost; lookups and writes are not costed, so not refused by them.
    const budgeted = isCostedQuery(subject.endpoint.query) ? matched.filter((rule) => rule.budget !== undefined) : [];
    const refusal = budgeted.length > 0 ? await findSpentBudget(budgeted, subject, budgetDeps) : undefined;
    if (refusal !== undefined) refuse(subject, 'query_budget_exceeded', refusal);
    let releases: (() => void)[];
    // One backend call for the whole admission, unless a rule may queue (a queued request waits per rule).
    if (backend.admit !== undefined && !matched.some((rule) => rule.config.max_queue_duration !== undefined)) {
      releases = await admitAtOnce(matched, subject);
    } else {
      await takeRates(matched, subject);
      releases = await acquireSlots(matched, subject);
    }
    let released = false;
    return {
      ruleNames: matched.map((rule) => rule.name),
      check: (request) =>
        checkRequest(matched, subject, request).catch((error: unknown) => {
          throw toHttpError(error);
        }),
      charge: (cost) => {
        if (budgeted.length > 0) chargeBudgets(budgeted, subject, cost, budgetDeps);
      },
      release() {
        if (released) return;
        released = true;
        for (const release of releases) release();
      },
    };
  }

  function checkBodyBytes(rule: LimitRule, bytes: number | undefined, subject: LimitSubject): void {
    const max = rule.config.max_body_bytes;
    if (max !== undefined && bytes !== undefined && bytes > max) {
      refuse(
        subject,
        'body_too_large',
        new WriteTooLarge('body_too_large', `the request body is ${bytes} bytes, over the limit of ${max} (rule ${rule.name})`, rule.name),
      );
    }
  }

  async function checkRequest(matched: readonly LimitRule[], subject: LimitSubject, request: ProxyRequest): Promise<void> {
    const { query, writeFormat } = subject.endpoint;
    for (const rule of matched) {
      if (request.body !== undefined) checkBodyBytes(rule, request.body.length, subject);
      if (rule.config.max_series !== undefined && request.body !== undefined && writeFormat !== undefined) {
        const series = countWriteSeries(writeFormat, request);
        if (series !== undefined && series > rule.config.max_series) {
          refuse(
            subject,
            'too_many_series',
            new WriteTooLarge(
              'too_many_series',
              `the write holds ${series} series or streams, over the limit of ${rule.config.max_series} (rule ${rule.name})`,
              rule.name,
            ),
          );
        }
      }
      if (!isCostedQuery(query) || !rule.hasCostGuards) continue;
      const params = await readRequestParams(request);
      try {
        checkQueryCost(
          params,
          query,
          {
            maxRangeMs: rule.config.max_range,
            minStepMs: rule.config.min_step,
            maxPoints: rule.config.max_points,
            maxQueryBytes: rule.config.max_query_bytes,
            maxLookbackMs: rule.config.max_lookback,
          },
          deps.now(),
        );
      } catch (error) {
        if (!(error instanceof QueryCostError)) throw error;
        if (error.code === 'invalid_time_range') throw new BadRequest('invalid_time_range', error.message);
        refuse(subject, error.code, new QueryTooExpensive(error.code, `${error.message} (rule ${rule.name})`, rule.name));
      }
    }
  }
}

function rateLimited(rule: LimitRule, retryAfterMs: number): TooManyRequests {
  return new TooManyRequests(
    'rate_limited',
    `rate limit of ${rule.config.rate}/s (burst ${rule.rate?.burst}) reached (rule ${rule.name})`,
    rule.name,
    retryAfterMs,
  );
}

function concurrencyLimited(rule: LimitRule): TooManyRequests {
  return new TooManyRequests(
    'concurrency_limited',
    `${rule.config.concurrency} requests already in flight (rule ${rule.name})`,
    rule.name,
    1000,
  );
}
