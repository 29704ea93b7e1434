import { createApp } from '../app.js';
import { loadConfigFile } from '../config/load.js';
import { enforceLogQuery } from '../enforce/logql/index.js';
import { InexpressiblePolicy, PolicyViolation, QueryParseError } from '../enforce/errors.js';
import { explainQuery } from '../enforce/promql/index.js';
import type { Preset, QueryDialect } from '../routing/endpoint.js';
import { builtInPresets } from '../routing/presets/index.js';
import { buildPolicySelectors } from '../routing/presets/prometheus-transforms.js';
import { enforceTraceQuery } from '../enforce/traceql/enforce.js';
import { createLogger } from '../observability/logger.js';
import { buildEntryPolicy, describePolicy, readSelectorsInput, type LabelPolicy } from '../policy/label-policy.js';
import { systemClock } from '../core/clock.js';
import { buildGrafana } from '../identity/providers.js';
import { HttpError } from '../core/http-errors.js';
import { stringFlag, UsageError, type ParsedArgs } from './args.js';

/** A token the gateway would refuse: reported in one line on stderr (exit 1), not as a crash. */
export class ExplainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExplainError';
  }
}

/** What `explain` prints; `refused` when the gateway would refuse the request (exit 1, the reason printed). */
export interface Explanation {
  readonly text: string;
  readonly refused: boolean;
}

/** The rewrite shown for each query language, as the endpoint rows' transforms apply it. */
const EXPLAINERS: Readonly<Record<QueryDialect, (query: string, policy: LabelPolicy) => string>> = {
  promql: explainQuery,
  metricsql: explainVictoriaMetrics,
  logql: enforceLogQuery,
  traceql: enforceTraceQuery,
};

export interface ExplainDeps {
  /** The presets `--type` names (the built-in ones; a test may bring its own). */
  readonly presets: readonly Preset[];
}

/**
 * The language of an upstream type's queries, read from its preset's rows: its instant query's, else its
 * range query's, else the first it reads. Undefined when no row reads a query (alertmanager, raw).
 */
function queryDialectOf(preset: Preset): QueryDialect | undefined {
  const queries = preset.endpoints.flatMap((endpoint) => (endpoint.query ? [endpoint.query] : []));
  return (queries.find((q) => q.kind === 'instant') ?? queries.find((q) => q.kind === 'range') ?? queries[0])?.dialect;
}

/** `type = "victoriametrics"`: the PromQL rewrite when the grammar reads the query, and the extra filter. */
function explainVictoriaMetrics(query: string, policy: LabelPolicy): string {
  let sent: string;
  try {
    sent = explainQuery(query, policy);
  } catch (error) {
    if (!(error instanceof QueryParseError)) throw error;
    sent = `${query}\n# not PromQL (MetricsQL?): sent as written, enforced by VictoriaMetrics with the filter below`;
  }
  return [sent, ...buildPolicySelectors(policy).map((filter) => `extra_filters[]=${filter}`)].join('\n');
}

/**
 * `scopegate explain`: the query as it would leave for the upstream, for the identity of `--token` (checked
 * by the configured authenticators, so it answers exactly as the gateway would) or for a `--policy` given as
 * a token entry in JSON: `{"namespaces":["team-a"],"labels":{"cluster":"eu1"}}` (values of the configured
 * `static_tokens.policy_label`, or of `"label"` when the entry names one).
 */
export async function explain(
  configPath: string,
  args: ParsedArgs,
  deps: ExplainDeps = { presets: builtInPresets() },
): Promise<Explanation> {
  const query = stringFlag(args, 'query');
  if (query === undefined) throw new UsageError('explain: --query is required');
  const type = stringFlag(args, 'type') ?? 'prometheus';
  const preset = deps.presets.find((p) => p.type === type);
  const dialect = preset && queryDialectOf(preset);
  if (dialect === undefined) {
    const types = deps.presets
      .filter((p) => queryDialectOf(p) !== undefined)
      .map((p) => p.type)
      .sort();
    throw new UsageError(`explain: --type must be one of ${types.join(', ')}`);
  }
  const enforce = EXPLAINERS[dialect];
  const grafanaUser = stringFlag(args, 'grafana-user');
  const { policy, about } =
    grafanaUser !== undefined
      ? await resolveGrafanaUser(configPath, grafanaUser)
      : { policy: await resolvePolicy(configPath, args), about: '' };
  if (policy === undefined)
    return { text: `${about}# this identity has no label policy: the gateway answers 403 (implicit deny)`, refused: true };
  try {
    return { text: `${about}# policy: ${describePolicy(policy)}\n${enforce(query, policy)}`, refused: false };
  } catch (error) {
    // As the endpoint step translates them: a policy violation is 403, anything else the enforcer refuses 400.
    const status = error instanceof PolicyViolation || error instanceof InexpressiblePolicy ? 403 : 400;
    return { text: `# refused with ${status}: ${(error as Error).message}`, refused: true };
  }
}

/**
 * `--grafana-user <id>`: the user's teams, read once from the configured Grafana with `[auth.grafana]`'s
 * token, and the identity the gateway would give that user's X-Grafana-Id (tenants, scopes, policy). The
 * token itself is not checked: the user is named, as an operator asks "what would user 7 see".
 */
async function resolveGrafanaUser(configPath: string, userId: string): Promise<{ policy: LabelPolicy | undefined; about: string }> {
  if (!/^\d+$/.test(userId)) throw new UsageError('explain: --grafana-user is the numeric user id (the <id> of sub "user:<id>")');
  const config = await loadConfigFile(configPath);
  if (config.auth.grafana === undefined) throw new UsageError('explain: --grafana-user needs [auth.grafana] in the config');
  const grafana = await buildGrafana(config.auth.grafana, { logger: createLogger({ level: 'silent' }), clock: systemClock });
  try {
    const teams = grafana.teamsOf(userId).map((team) => team.name);
    const identity = grafana.identityOfUser(userId);
    const about = `# grafana user ${userId}, org ${config.auth.grafana.org_id}, teams: ${teams.join(', ')}\n# tenants: ${identity.tenants.join(', ')}; scopes: ${[...identity.scopes].join(', ')}\n`;
    return { policy: identity.policy, about };
  } catch (error) {
    if (error instanceof HttpError) throw new ExplainError(`the Grafana user would be refused: ${error.code} (${error.message})`);
    throw error;
  } finally {
    grafana.close();
  }
}

async function resolvePolicy(configPath: string, args: ParsedArgs): Promise<LabelPolicy | undefined> {
  const config = await loadConfigFile(configPath);
  const policyJson = stringFlag(args, 'policy');
  if (policyJson !== undefined) {
    try {
      // Read as a token entry is: `namespace`/`namespaces` constrain the configured policy label.
      const entry = JSON.parse(policyJson) as {
        namespace?: string;
        namespaces?: string[];
        labels?: Record<string, string>;
        label?: string;
        selectors?: unknown;
      };
      const values = [...(entry.namespace ? [entry.namespace] : []), ...(entry.namespaces ?? [])];
      const label = entry.label ?? config.static_tokens.policy_label;
      const selectors = entry.selectors === undefined ? undefined : readSelectorsInput(entry.selectors);
      return buildEntryPolicy({ label, values, ...(entry.labels ? { labels: entry.labels } : {}), ...(selectors ? { selectors } : {}) });
    } catch (error) {
      throw new UsageError(`explain: --policy: ${(error as Error).message}`);
    }
  }
  const token = stringFlag(args, 'token');
  if (token === undefined) throw new UsageError('explain: --token or --policy is required');
  const app = await createApp(config, { logger: createLogger({ level: 'silent' }), clock: systemClock, collectProcessMetrics: false });
  try {
    await app.start();
    const identity = await app.authenticate({ bearer: { header: 'authorization', token } });
    return identity.policy;
  } catch (error) {
    if (error instanceof HttpError) throw new ExplainError(`the token was refused: ${error.code}`);
    throw error;
  } finally {
    await app.close();
  }
}
