import { readGoStruct } from '../../enforce/go-json.js';
import { readRequestParams, writeRequestParams } from '../../enforce/params.js';
import { isLimitedPolicy, type LabelPolicy } from '../../policy/label-policy.js';
import { BadGateway, BadRequest, Forbidden, NotFound } from '../../core/http-errors.js';
import type { EnforceContext, Endpoint, Preset, ProxyRequest, UpstreamLookup } from '../endpoint.js';
import { runEnforcer } from './enforce-http-errors.js';
import {
  findViolatedRule,
  formatFilterMatchers,
  injectableValue,
  isSilenceWithinPolicy,
  type SilenceMatcher,
} from './alertmanager-policy.js';

/**
 * `type = "alertmanager"`: a plain, single-tenant Prometheus Alertmanager (API v2, openapi `api/v2/openapi.yaml`)
 * shared by several tenants, so every row requires a policy and the policy is the only isolation.
 *
 * Reads get the policy as `filter` matchers (Alertmanager ANDs repeated `filter`s) and, as defence in depth,
 * the response is filtered too. Writes are checked: alerts must carry allowed labels (single literals may be
 * injected); silences must be confined to allowed values. Updating (`id` set) or deleting a silence is
 * allowed only when the existing silence, looked up on the upstream, is within the policy too. Status and receivers reveal the whole configuration: full access only.
 */

type LimitedPolicy = Extract<LabelPolicy, { fullAccess: false }>;

function limitingPolicy(ctx: EnforceContext): LimitedPolicy | undefined {
  return isLimitedPolicy(ctx.policy) ? ctx.policy : undefined;
}

/** GET alerts, groups, silences: add the policy's `filter` matchers; ask for an uncompressed body to filter. */
async function addPolicyFilters(req: ProxyRequest, ctx: EnforceContext): Promise<void> {
  const policy = limitingPolicy(ctx);
  if (policy === undefined) return;
  const params = await readRequestParams(req);
  writeRequestParams(req, [...params, ...formatFilterMatchers(policy).map((m) => ['filter', m] as const)]);
  delete req.headers['accept-encoding'];
}

function parseJson(body: Buffer, what: string): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new BadGateway('upstream_bad_response', `Alertmanager sent an unreadable ${what}`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function labelsOf(value: unknown): Record<string, unknown> {
  return isRecord(value) && isRecord(value['labels']) ? value['labels'] : {};
}

function matchersOf(value: unknown): SilenceMatcher[] {
  const raw = isRecord(value) ? value['matchers'] : undefined;
  if (!Array.isArray(raw)) return [];
  return raw.filter(isRecord).flatMap((m) => {
    const { name, value: v, isRegex, isEqual } = m;
    if (typeof name !== 'string' || typeof v !== 'string') return [];
    return [{ name, value: v, isRegex: isRegex === true, ...(isEqual === false ? { isEqual: false } : {}) }];
  });
}

/** Builds a response filter over a JSON array, keeping the entries `keep` returns (possibly rewritten). */
function filterArray(what: string, keep: (entry: unknown, policy: LimitedPolicy) => unknown): Endpoint['filterResponse'] {
  return (body, ctx) => {
    const policy = limitingPolicy(ctx);
    if (policy === undefined) return body;
    const parsed = parseJson(body, what);
    if (!Array.isArray(parsed)) throw new BadGateway('upstream_bad_response', `Alertmanager ${what} is not a list`);
    const kept = parsed.map((entry) => keep(entry, policy)).filter((entry) => entry !== undefined);
    return Buffer.from(JSON.stringify(kept));
  };
}

const keepAlert = (alert: unknown, policy: LimitedPolicy): unknown =>
  findViolatedRule(labelsOf(alert), policy) === undefined ? alert : undefined;

const keepGroup = (group: unknown, policy: LimitedPolicy): unknown => {
  if (!isRecord(group) || !Array.isArray(group['alerts'])) return undefined;
  const alerts = group['alerts'].filter((a) => keepAlert(a, policy) !== undefined);
  return alerts.length === 0 ? undefined : { ...group, alerts };
};

const keepSilence = (silence: unknown, policy: LimitedPolicy): unknown =>
  isSilenceWithinPolicy(matchersOf(silence), policy) ? silence : undefined;

/** GET one silence: one outside the policy is answered as if it did not exist. */
function filterOneSilence(body: Buffer, ctx: EnforceContext): Buffer {
  const policy = limitingPolicy(ctx);
  if (policy === undefined) return body;
  if (keepSilence(parseJson(body, 'silence'), policy) === undefined) throw new NotFound('silence_not_found', 'silence not found');
  return body;
}

function readJsonBody(req: ProxyRequest): unknown {
  try {
    return JSON.parse((req.body ?? Buffer.alloc(0)).toString('utf8'));
  } catch {
    throw new BadRequest('invalid_json', 'request body is not valid JSON');
  }
}

/**
 * Alertmanager decodes its v2 bodies with Go's encoding/json (go-swagger models), which matches member names
 * case-insensitively with Unicode folding: `"ID"` or `"Id"` is the silence's `id`, `"IsEqual"` a matcher's
 * `isEqual`. Posted bodies are therefore read the Go way (enforce/go-json.ts) into the fields of the API's
 * models, and the request is rebuilt from what was read, in canonical spelling only: what was checked is what
 * Alertmanager acts on. A field given under two spellings is 400 `ambiguous_json`. Members that name no field
 * are dropped (Alertmanager ignores them); label sets and annotations are maps, read exactly, as Go reads them.
 */
const SILENCE_FIELDS = ['id', 'matchers', 'startsAt', 'endsAt', 'createdBy', 'comment'] as const;
const MATCHER_FIELDS = ['name', 'value', 'isRegex', 'isEqual'] as const;
const ALERT_FIELDS = ['labels', 'annotations', 'startsAt', 'endsAt', 'generatorURL'] as const;

function readPostedSilence(value: unknown): Record<string, unknown> {
  if (!isRecord(value)) throw new BadRequest('invalid_silence', 'expected a silence object');
  const silence: Record<string, unknown> = runEnforcer(() => readGoStruct(value, SILENCE_FIELDS, 'silence'));
  if (Array.isArray(silence['matchers'])) {
    silence['matchers'] = silence['matchers'].map((m: unknown) =>
      isRecord(m) ? runEnforcer(() => readGoStruct(m, MATCHER_FIELDS, 'silence matcher')) : m,
    );
  }
  return silence;
}

function readPostedAlert(value: Record<string, unknown>): Record<string, unknown> {
  return runEnforcer(() => readGoStruct(value, ALERT_FIELDS, 'alert'));
}

/** POST alerts: every alert's labels must satisfy the policy, or get a missing single literal injected. */
function checkPostedAlerts(req: ProxyRequest, ctx: EnforceContext): void {
  const policy = limitingPolicy(ctx);
  if (policy === undefined) return;
  const posted = readJsonBody(req);
  if (!Array.isArray(posted) || !posted.every(isRecord)) throw new BadRequest('invalid_alerts', 'expected a list of alerts');
  const alerts = posted.map(readPostedAlert);
  for (const alert of alerts) {
    const labels = isRecord(alert['labels']) ? { ...alert['labels'] } : {};
    const only = policy.selectors.length === 1 ? policy.selectors[0] : undefined; // inject only under one selector
    for (const rule of only ?? []) {
      const value = injectableValue(rule);
      const missing = labels[rule.label] === undefined || labels[rule.label] === '';
      if (missing && ctx.options.injectLabelsOnWrite && value !== undefined) labels[rule.label] = value;
    }
    const violated = findViolatedRule(labels, policy);
    if (violated !== undefined) {
      throw new Forbidden(
        'policy_violation',
        `alert ${String(labels['alertname'] ?? '')}: label "${violated.label}" missing or not allowed`,
      );
    }
    alert['labels'] = labels;
  }
  req.body = Buffer.from(JSON.stringify(alerts));
}

/** POST silence: new silences only, confined to the policy. */
function checkPostedSilence(req: ProxyRequest, ctx: EnforceContext): void {
  const policy = limitingPolicy(ctx);
  if (policy === undefined) return;
  const silence = readPostedSilence(readJsonBody(req));
  if (!isSilenceWithinPolicy(matchersOf(silence), policy)) {
    throw new Forbidden('policy_violation', 'the silence must match only allowed label values');
  }
  req.body = Buffer.from(JSON.stringify(silence));
}

/**
 * Updating or deleting a silence: the silence as the upstream holds it must be within the policy (one outside
 * it is answered as if it did not exist), so a tenant can never expire or rewrite another tenant's silence.
 */
async function authorizeExistingSilence(req: ProxyRequest, ctx: EnforceContext, lookup: UpstreamLookup): Promise<void> {
  const policy = limitingPolicy(ctx);
  if (policy === undefined) return;
  const id = req.method === 'DELETE' ? req.path.slice(req.path.lastIndexOf('/') + 1) : silenceIdOf(req);
  if (id === undefined) return;
  if (!/^[0-9a-fA-F-]{1,64}$/.test(id)) throw new BadRequest('invalid_silence', 'invalid silence id');
  const existing = await lookup(`/api/v2/silence/${id}`);
  if (existing.status === 404) throw new NotFound('silence_not_found', 'silence not found');
  if (existing.status !== 200) throw new BadGateway('upstream_bad_response', `looking up the silence answered ${existing.status}`);
  if (keepSilence(parseJson(existing.body, 'silence'), policy) === undefined) {
    throw new NotFound('silence_not_found', 'silence not found');
  }
}

function silenceIdOf(req: ProxyRequest): string | undefined {
  const silence = readJsonBody(req);
  return isRecord(silence) && typeof silence['id'] === 'string' && silence['id'] !== '' ? silence['id'] : undefined;
}

const SILENCE_BY_ID = /^\/api\/v2\/silence\/[0-9a-fA-F-]{1,64}$/;

function row(name: string, methods: string[], path: string | RegExp, extra: Partial<Endpoint>): Endpoint {
  const scope = methods.includes('GET') ? 'read' : 'write';
  return { name: `alertmanager.${name}`, methods, path, scope, requiresPolicy: true, ...extra };
}

export const alertmanagerPreset: Preset = {
  type: 'alertmanager',
  components: [],
  // Silences and alerts are posted by users and by Prometheus.
  writesByDefault: true,
  endpoints: [
    row('alerts', ['GET'], '/api/v2/alerts', { transformRequest: addPolicyFilters, filterResponse: filterArray('alerts', keepAlert) }),
    row('alerts_post', ['POST'], '/api/v2/alerts', { bufferBody: true, transformRequest: checkPostedAlerts }),
    row('alert_groups', ['GET'], '/api/v2/alerts/groups', {
      transformRequest: addPolicyFilters,
      filterResponse: filterArray('alert groups', keepGroup),
    }),
    row('silences', ['GET'], '/api/v2/silences', {
      transformRequest: addPolicyFilters,
      filterResponse: filterArray('silences', keepSilence),
    }),
    row('silences_post', ['POST'], '/api/v2/silences', {
      bufferBody: true,
      transformRequest: checkPostedSilence,
      authorizeWithUpstream: authorizeExistingSilence,
    }),
    row('silence', ['GET'], SILENCE_BY_ID, {
      transformRequest: (req) => void delete req.headers['accept-encoding'],
      filterResponse: filterOneSilence,
    }),
    row('silence_delete', ['DELETE'], SILENCE_BY_ID, { authorizeWithUpstream: authorizeExistingSilence }),
    // Status and receivers reveal the whole Alertmanager configuration.
    row('status', ['GET'], '/api/v2/status', { fullAccessOnly: true }),
    row('receivers', ['GET'], '/api/v2/receivers', { fullAccessOnly: true }),
  ],
};
