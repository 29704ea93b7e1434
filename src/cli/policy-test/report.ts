import type { CaseResult } from './run-case.js';

export interface FileResults {
  readonly file: string;
  readonly cases: readonly CaseResult[];
}

/** One line per failing case (every expectation that did not hold, `expected …, got …`), then a summary. */
export function formatText(results: readonly FileResults[]): string {
  const lines: string[] = [];
  let passed = 0;
  let failed = 0;
  for (const { file, cases } of results) {
    for (const result of cases) {
      if (result.failures.length === 0) {
        passed++;
        continue;
      }
      failed++;
      lines.push(`FAIL ${file}: ${result.name}: ${result.failures.join('; ')}`);
    }
  }
  lines.push(
    `${failed === 0 ? 'ok' : 'FAILED'}: ${passed} passed, ${failed} failed, in ${results.length} file${results.length === 1 ? '' : 's'}`,
  );
  return `${lines.join('\n')}\n`;
}

/** JUnit XML, as CI systems read it: a testsuite per file, a testcase per case, a failure with its lines. */
export function formatJunit(results: readonly FileResults[]): string {
  const suites = results.map(({ file, cases }) => {
    const failures = cases.filter((c) => c.failures.length > 0).length;
    const time = cases.reduce((sum, c) => sum + c.durationMs, 0) / 1000;
    const body = cases.map((c) => {
      const open = `    <testcase classname="${xml(file)}" name="${xml(c.name)}" time="${c.durationMs / 1000}"`;
      if (c.failures.length === 0) return `${open}/>`;
      return `${open}>\n      <failure message="${xml(c.failures[0] ?? '')}">${xml(c.failures.join('\n'))}</failure>\n    </testcase>`;
    });
    return `  <testsuite name="${xml(file)}" tests="${cases.length}" failures="${failures}" errors="0" time="${time}">\n${body.join('\n')}\n  </testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="scopegate test">\n${suites.join('\n')}\n</testsuites>\n`;
}

function xml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] as string);
}
