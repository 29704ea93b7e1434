import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from './logger.js';

function recorded() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'info',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  return { logger, lines };
}

// The time string is cached per millisecond by each logger (no module state): two loggers in one process, each
// line stamped with the time it was written, as pino's isoTime would.
test("each logger's lines carry the ISO time they were written, whatever another logger wrote before", (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: Date.parse('2026-01-01T00:00:00.000Z') });
  const [a, b] = [recorded(), recorded()];
  a.logger.info('one');
  t.mock.timers.tick(1);
  b.logger.info('two');
  a.logger.info('three');
  assert.deepEqual(
    [...a.lines, ...b.lines].map((line) => [line.msg, line.time]),
    [
      ['one', '2026-01-01T00:00:00.000Z'],
      ['three', '2026-01-01T00:00:00.001Z'],
      ['two', '2026-01-01T00:00:00.001Z'],
    ],
  );
});

test('credentials are redacted', () => {
  const { logger, lines } = recorded();
  logger.info({ req: { headers: { authorization: 'Bearer x' } }, token: 't' }, 'r');
  assert.deepEqual(lines[0]?.req, { headers: { authorization: '[redacted]' } });
  assert.equal(lines[0]?.token, '[redacted]');
});
