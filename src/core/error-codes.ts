/**
 * The catalogue of every error code the gateway answers with: its HTTP status and what it means. `HttpError.code`
 * is typed with `ErrorCode`, so a new code is one row here (and one in the table of docs/errors.md, which a test
 * checks against this one). A code names one failure: two failures never share a code and one failure never has
 * two.
 */
export const ERROR_CATALOGUE = {
  // 400: the request cannot be read or checked.
  bad_request_target: { status: 400, meaning: 'the request target is not an absolute path' },
  bad_request_path: { status: 400, meaning: 'the path holds an encoded "/", "\\" or NUL, bad percent-encoding, or climbs above the root' },
  missing_host: { status: 400, meaning: 'the request names no host (Host missing or empty) and no catch-all route serves it' },
  duplicate_host: { status: 400, meaning: 'more than one Host header line (RFC 9112 §3.2); the connection is closed' },
  ambiguous_framing: { status: 400, meaning: 'Transfer-Encoding on an HTTP/1.0 request (RFC 9112 §6.1); the connection is closed' },
  invalid_host: { status: 400, meaning: 'the Host header is not a host name' },
  tenant_header_repeated: { status: 400, meaning: 'X-Scope-OrgID was sent more than once' },
  tenant_required: { status: 400, meaning: 'the identity holds several tenants and the request names none' },
  write_needs_one_tenant: { status: 400, meaning: 'a write names more than one tenant' },
  query_parse_error: { status: 400, meaning: 'a query (PromQL, LogQL, TraceQL) could not be parsed; never passed through' },
  query_missing: { status: 400, meaning: 'the endpoint needs a query and none was sent' },
  missing_match: { status: 400, meaning: 'the endpoint needs at least one series selector (match[]) under a label policy' },
  tags_not_supported: { status: 400, meaning: "Tempo's tags search parameter cannot be enforced; use q (TraceQL)" },
  unsupported_input: { status: 400, meaning: 'a body the enforcer cannot check safely (malformed or unknown encoding)' },
  invalid_json: { status: 400, meaning: 'the request body is not valid JSON' },
  ambiguous_json: { status: 400, meaning: 'one JSON field appears under two spellings (Go reads keys case-insensitively)' },
  invalid_alerts: { status: 400, meaning: 'the body is not a list of alerts' },
  malformed_credentials: { status: 400, meaning: 'a Basic credential that is not base64 of user:password' },
  invalid_silence: { status: 400, meaning: 'the body is not a silence, or the silence id is malformed' },
  invalid_time_range: {
    status: 400,
    meaning: 'a limited query_range or query whose start, end or step cannot be read (so its cost cannot be checked)',
  },
  // 401: no identity (WWW-Authenticate is always set).
  missing_credentials: { status: 401, meaning: 'no credential in any token header' },
  invalid_credentials: { status: 401, meaning: 'wrong username or password, or a credential no provider recognises' },
  invalid_token: { status: 401, meaning: 'unknown static token' },
  conflicting_credentials: { status: 401, meaning: 'two credentials disagree, or one is repeated' },
  token_expired: { status: 401, meaning: "the JWT's exp has passed" },
  token_not_yet_valid: { status: 401, meaning: "the JWT's nbf or iat is in the future (beyond clock_skew)" },
  bad_signature: { status: 401, meaning: "the JWT's signature does not verify" },
  unknown_key: { status: 401, meaning: "no signing key with the JWT's kid (after one rate-limited refetch)" },
  wrong_audience: { status: 401, meaning: "the JWT's aud is not accepted" },
  wrong_issuer: { status: 401, meaning: "the JWT's iss is not accepted" },
  algorithm_not_allowed: { status: 401, meaning: "the JWT's alg is outside the provider's list" },
  malformed_token: { status: 401, meaning: 'not a readable JWT' },
  invalid_claims: { status: 401, meaning: 'claims of the wrong shape, or an invalid tenant' },
  missing_tenant_claim: { status: 401, meaning: 'no tenant claim and no default_tenant' },
  grafana_channel_missing: {
    status: 401,
    meaning: "an X-Grafana-Id without the data source's own credential (the caller allowed to present Grafana users)",
  },
  // 403: an identity, refused.
  tenant_not_allowed: { status: 403, meaning: 'X-Scope-OrgID names a tenant the identity does not hold' },
  tenant_federation_not_allowed: { status: 403, meaning: 'several tenants in one request, on an upstream that does not allow it' },
  scope_not_allowed: { status: 403, meaning: 'the identity lacks the scope (read, write, admin) of the endpoint' },
  admin_endpoint_blocked: { status: 403, meaning: 'an admin endpoint, blocked on this upstream' },
  write_endpoint_blocked: { status: 403, meaning: 'a write endpoint, blocked on this upstream (read_only)' },
  no_label_policy: { status: 403, meaning: 'the identity has no label policy for this upstream (implicit deny)' },
  full_access_required: {
    status: 403,
    meaning:
      'the endpoint cannot be limited to a label policy (it shows or changes the whole tenant, or the upstream is raw): it needs an identity without a policy or with full access; a raw upstream may opt out with allow_unenforced_policy',
  },
  policy_violation: { status: 403, meaning: "the request would read or write outside the identity's label policy" },
  grafana_channel_not_allowed: {
    status: 403,
    meaning: 'an X-Grafana-Id presented with a credential whose identity is not one of [auth.grafana] presenters',
  },
  grafana_wrong_org: { status: 403, meaning: 'a valid X-Grafana-Id of another Grafana org than org_id' },
  grafana_identity_refused: {
    status: 403,
    meaning:
      'an X-Grafana-Id whose sub is not a user (anonymous, render, …) or a service account not listed in [auth.grafana] service_accounts',
  },
  grafana_no_team: { status: 403, meaning: 'a Grafana user in none of the teams [auth.grafana] maps' },
  grafana_team_without_policy: {
    status: 403,
    meaning: 'a Grafana user whose mapped teams grant no label policy (neither selectors nor full_access)',
  },
  policy_not_expressible: {
    status: 403,
    meaning:
      "the identity's label policy has several selectors and this request cannot be limited exactly to their union (refused, never widened)",
  },
  // 404, 405, 413, 415.
  no_upstream: { status: 404, meaning: 'no upstream is configured for the Host' },
  unknown_endpoint: { status: 404, meaning: 'the upstream type has no endpoint at this path' },
  upgrade_not_supported: { status: 404, meaning: 'the endpoint does not accept WebSocket upgrades' },
  trace_not_found: { status: 404, meaning: 'no trace with this id, or none of its spans is inside the label policy' },
  silence_not_found: { status: 404, meaning: 'no silence with this id inside the label policy' },
  rule_group_not_found: { status: 404, meaning: "no rule group (of the ruler's configuration) inside the label policy at this path" },
  method_not_allowed: { status: 405, meaning: 'the endpoint does not accept this method' },
  payload_too_large: { status: 413, meaning: 'the request body is over max_body_bytes' },
  unsupported_media_type: { status: 415, meaning: 'a body encoding the enforcer does not read' },
  // 413, 422, 429: over a [limits] rule (the access log names the rule).
  body_too_large: { status: 413, meaning: "the request body is over a limit rule's max_body_bytes" },
  too_many_series: { status: 422, meaning: "a remote write or Loki push holds more series or streams than a limit rule's max_series" },
  query_range_too_long: { status: 422, meaning: "query_range end − start is over a limit rule's max_range" },
  step_too_small: { status: 422, meaning: "query_range step is under a limit rule's min_step" },
  too_many_points: { status: 422, meaning: "query_range (end − start) / step + 1 is over a limit rule's max_points" },
  query_too_long: { status: 422, meaning: "the query, as sent upstream, is over a limit rule's max_query_bytes" },
  lookback_too_long: { status: 422, meaning: "an instant query's largest range plus offset is over a limit rule's max_lookback" },
  rate_limited: { status: 429, meaning: "over a limit rule's rate (and burst); Retry-After says when the next request passes" },
  concurrency_limited: { status: 429, meaning: "a limit rule's concurrency is all in flight; Retry-After: 1" },
  query_budget_exceeded: {
    status: 429,
    meaning: "a limit rule's query budget (samples or query seconds) for this window is spent; Retry-After says when the window ends",
  },
  queue_timeout: {
    status: 429,
    meaning:
      "a limit rule's concurrency stayed full for its max_queue_duration while the request waited in its queue; Retry-After says when to try again",
  },
  // 500 to 505: the gateway or the upstream failed.
  internal_error: { status: 500, meaning: 'a bug: logged with its stack, its message not sent' },
  unsupported_transfer_encoding: { status: 501, meaning: 'a Transfer-Encoding other than exactly chunked; the connection is closed' },
  http_version_not_supported: { status: 505, meaning: 'an HTTP version other than 1.0 and 1.1; the connection is closed' },
  upstream_unreachable: { status: 502, meaning: 'the upstream refused the connection or is unreachable' },
  upstream_reset: { status: 502, meaning: 'the upstream closed the connection' },
  upstream_protocol_error: { status: 502, meaning: 'the upstream sent an invalid HTTP response' },
  upstream_aborted: { status: 502, meaning: 'the request to the upstream was aborted' },
  upstream_tls_error: { status: 502, meaning: 'TLS with the upstream failed (untrusted certificate, or it refused ours)' },
  upstream_bad_response: {
    status: 502,
    meaning: 'the upstream answered something the gateway must read (to filter or check) and could not',
  },
  token_set_unavailable: { status: 503, meaning: 'the static token set has not been loaded yet' },
  jwks_unavailable: { status: 503, meaning: "the identity provider's signing keys are not available" },
  aws_credentials_unavailable: { status: 503, meaning: 'no valid AWS credentials to sign for the upstream' },
  limits_unavailable: { status: 503, meaning: 'the limits backend (Redis) did not answer and on_backend_error = "deny"' },
  no_backend_available: { status: 503, meaning: 'every backend of the upstream is down (passive or active health); answered at once' },
  grafana_teams_unavailable: {
    status: 503,
    meaning: 'the Grafana team map has not been loaded yet (or the teams API refused the service-account token)',
  },
  grafana_teams_stale: {
    status: 503,
    meaning: 'the Grafana team map could not be refreshed for longer than teams_refresh_interval + teams_grace_period',
  },
  decision_log_unavailable: {
    status: 503,
    meaning: 'the decision log cannot keep up or cannot write, and it is configured to fail closed',
  },
  upstream_timeout: { status: 504, meaning: 'the upstream did not answer within its timeout' },
} as const satisfies Record<string, { status: number; meaning: string }>;

/** Every code the gateway answers with. */
export type ErrorCode = keyof typeof ERROR_CATALOGUE;
