import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diag } from '@opentelemetry/api';
import { createLogger } from './logger.js';
import { createOtlpTracer, createPropagatingTracer } from './tracing.js';

function recordedLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'info',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  return { logger, lines };
}

const CONFIG = { otlp_endpoint: new URL('http://127.0.0.1:9/v1/traces'), service_name: 'test', sample_ratio: 1, headers: {} };

// OpenTelemetry's diag logger is process-wide (its state, not ours): no module flag remembers who set it.
test("the latest OTLP tracer's log takes OpenTelemetry's diag messages, with no 'overwritten' warning in either", async (t) => {
  const first = recordedLogger();
  const second = recordedLogger();
  const tracers = [await createOtlpTracer(CONFIG, first.logger), await createOtlpTracer(CONFIG, second.logger)];
  t.after(() => Promise.all(tracers.map((tracer) => tracer.shutdown())));
  diag.warn('probe');
  assert.deepEqual(first.lines, []);
  assert.deepEqual(
    second.lines.map((line) => line.msg),
    ['tracing: probe'],
  );
});

test('each propagating tracer starts its own traces (no state shared between two gateways)', () => {
  const [a, b] = [createPropagatingTracer(), createPropagatingTracer()];
  const ids = new Set([a.start(undefined).traceId, b.start(undefined).traceId, a.start(undefined).traceId]);
  assert.equal(ids.size, 3);
  assert.equal(a.start(undefined).isRecording, false);
});
