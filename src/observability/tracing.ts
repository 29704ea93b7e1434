import type { Span, Tracer as OtelTracer } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { createTraceContinuer, parseTraceparent, type TraceContext } from './trace-context.js';

/** What the access log knows when a request ends; becomes the span's attributes. */
export interface RequestOutcome {
  readonly status: number;
  readonly path?: string | undefined;
  readonly tenant?: string | undefined;
  readonly subject?: string | undefined;
  readonly authenticator?: string | undefined;
  readonly upstream?: string | undefined;
  readonly endpoint?: string | undefined;
  readonly code?: string | undefined;
}

/** One request's place in a trace: the context sent upstream, and the span to end when the request ends. */
export interface RequestTrace extends TraceContext {
  /** Whether `end` records anything: when not, and the log drops the line, the line is never built. */
  readonly isRecording: boolean;
  /** Takes the access-log line as it is (no copy per request when nothing is recorded). */
  end(method: string, outcome: RequestOutcome): void;
}

export interface RequestTracer {
  start(incomingTraceparent: string | undefined): RequestTrace;
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

export interface TracingConfig {
  readonly otlp_endpoint: URL;
  readonly service_name: string;
  readonly sample_ratio: number;
  readonly headers: Readonly<Record<string, string>>;
}

const NOTHING_TO_END = (): void => undefined;

/** No exporter configured: W3C context is continued (trace-context.ts), no span is recorded. */
export function createPropagatingTracer(): RequestTracer {
  const continueTrace = createTraceContinuer();
  return {
    start(incoming) {
      const trace = continueTrace(incoming);
      return { traceId: trace.traceId, traceparent: trace.traceparent, isRecording: false, end: NOTHING_TO_END };
    },
    shutdown: async () => undefined,
  };
}

/**
 * `[tracing]`: one SERVER span per request (or WebSocket tunnel), exported over OTLP/HTTP (JSON) in batches by
 * the OpenTelemetry SDK. The span continues the caller's `traceparent` (parent-based sampling: a sampled caller
 * is always recorded; a trace the gateway starts is sampled at `sample_ratio`), and the upstream gets the
 * gateway's span as its parent. Attributes are the access-log fields; never a header, a token or the query
 * string. The SDK is loaded only when tracing is configured.
 */
export async function createOtlpTracer(config: TracingConfig, logger: Logger): Promise<RequestTracer> {
  const [api, sdk, { OTLPTraceExporter }, { resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  // The SDK reports export failures (collector down, refused) through its diag API: to our log, as warnings.
  // That API is process-wide (OpenTelemetry's, not ours): the latest tracer's logger takes it, without the
  // warning a second setLogger would write (a reload, or two gateways in one process).
  const warn = (message: string, ...args: unknown[]) => logger.warn({ otel: args.map(String) }, `tracing: ${message}`);
  const quiet = () => undefined;
  api.diag.setLogger(
    { error: warn, warn, info: quiet, debug: quiet, verbose: quiet },
    { logLevel: api.DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
  // A collector that is down delays shutdown and reload by at most this, never a request.
  const exporter = new OTLPTraceExporter({ url: config.otlp_endpoint.href, headers: { ...config.headers }, timeoutMillis: 5_000 });
  const provider = new sdk.BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.service_name }),
    sampler: new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(config.sample_ratio) }),
    spanProcessors: [new sdk.BatchSpanProcessor(exporter)],
  });
  const tracer: OtelTracer = provider.getTracer('scopegate');

  return {
    start(incoming) {
      const parent = parseTraceparent(incoming);
      const context = parent
        ? api.trace.setSpanContext(api.ROOT_CONTEXT, {
            traceId: parent.traceId,
            spanId: parent.spanId,
            traceFlags: parent.flags,
            isRemote: true,
          })
        : api.ROOT_CONTEXT;
      const span: Span = tracer.startSpan('scopegate', { kind: api.SpanKind.SERVER }, context);
      const { traceId, spanId, traceFlags } = span.spanContext();
      return {
        traceId,
        traceparent: `00-${traceId}-${spanId}-${(traceFlags & api.TraceFlags.SAMPLED) !== 0 ? '01' : '00'}`,
        isRecording: span.isRecording(),
        end(method, outcome) {
          if (!span.isRecording()) return;
          span.updateName(`${method} ${outcome.endpoint ?? 'unrouted'}`);
          span.setAttributes(attributesOf(method, outcome));
          if (outcome.status >= 500) span.setStatus({ code: api.SpanStatusCode.ERROR, ...(outcome.code ? { message: outcome.code } : {}) });
          span.end();
        },
      };
    },
    // The last batch may fail to export (collector down): a warning, never a failed shutdown or reload.
    shutdown: () =>
      provider.shutdown().catch((error: unknown) => logger.warn({ err: String(error) }, 'tracing: the last spans could not be exported')),
  };
}

function attributesOf(method: string, outcome: RequestOutcome): Record<string, string | number> {
  const attributes: Record<string, string | number> = {
    'http.request.method': method,
    'http.response.status_code': outcome.status,
  };
  const optional: [string, string | undefined][] = [
    ['url.path', outcome.path],
    ['scopegate.tenant', outcome.tenant],
    ['scopegate.subject', outcome.subject],
    ['scopegate.authenticator', outcome.authenticator],
    ['scopegate.upstream', outcome.upstream],
    ['scopegate.endpoint', outcome.endpoint],
    ['scopegate.error_code', outcome.code],
  ];
  for (const [key, value] of optional) if (value !== undefined) attributes[key] = value;
  return attributes;
}
