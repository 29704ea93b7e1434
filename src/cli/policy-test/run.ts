import { createServer, type Server } from 'node:http';
import { access, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { stringify as stringifyYaml } from 'yaml';
import { createApp, type App } from '../../app.js';
import { readConfigDocument } from '../../config/load.js';
import { systemClock } from '../../core/clock.js';
import { createLogger } from '../../observability/logger.js';
import { stringFlag, UsageError, type ParsedArgs } from '../args.js';
import { startCaptureUpstream } from './capture-upstream.js';
import { loadTestFile, type PolicyTestCase } from './cases.js';
import { expectationOf, starterCases } from './init.js';
import { createMemorySink, type MemorySink } from './memory-sink.js';
import { buildOfflineHarness, type OfflineHarness } from './offline-config.js';
import { formatJunit, formatText, type FileResults } from './report.js';
import { runCase, type CaseResult, type CaseRunner } from './run-case.js';

/**
 * `scopegate test --config FILE tests/*.yaml`: each file's cases run, in order, against a gateway built by
 * `createApp` from the configuration (offline-config.ts says what is replaced to run offline), through its real
 * proxy handler on 127.0.0.1, in front of an upstream that captures what it is sent. Each case's outcome is
 * read from its decision record and from what the upstream received. Exit 0: every case passed; 1: one failed;
 * 2: usage, test file or configuration error (thrown as UsageError or ConfigError to main.ts).
 */
export async function runPolicyTests(configPath: string, args: ParsedArgs): Promise<number> {
  const format = stringFlag(args, 'format') ?? 'text';
  if (format !== 'text' && format !== 'junit') throw new UsageError('test: --format must be text or junit');
  const init = args.flags.get('init');
  if (init !== undefined) return writeStarterFile(configPath, args, init === true ? 'scopegate-tests.yaml' : init);
  if (args.positionals.length === 0) throw new UsageError('test: name at least one test file (tests/*.yaml)');
  const files = await Promise.all(args.positionals.map(async (file) => ({ file, cases: await loadTestFile(file) })));

  const results: FileResults[] = [];
  const grafanaUsers = grafanaUsersOf(files.flatMap((f) => f.cases));
  await withHarness(configPath, args, { grafanaUsers }, async (gateway) => {
    for (const { file, cases } of files) results.push({ file, cases: await gateway.run(cases) });
  });
  process.stdout.write(format === 'junit' ? formatJunit(results) : formatText(results));
  return results.some((r) => r.cases.some((c) => c.failures.length > 0)) ? 1 : 0;
}

interface Gateway {
  readonly harness: OfflineHarness;
  /** Runs cases in order on a gateway of their own (limit counters start at zero for each file). */
  run(cases: readonly PolicyTestCase[]): Promise<CaseResult[]>;
}

/**
 * The Grafana users the cases name, and their teams: the team map the run's Grafana stand-in serves (it is read
 * when a gateway starts, as from Grafana). A user is in the same teams in every case, else a usage error.
 */
function grafanaUsersOf(cases: readonly PolicyTestCase[]): Map<number, readonly string[]> {
  const users = new Map<number, readonly string[]>();
  for (const { name, identity } of cases) {
    if (!('grafana' in identity)) continue;
    const { user, teams } = identity.grafana;
    const known = users.get(user);
    if (known !== undefined && [...known].sort().join('\n') !== [...teams].sort().join('\n')) {
      throw new UsageError(
        `test: Grafana user ${user} is in teams [${known.join(', ')}] in one case and [${teams.join(', ')}] in "${name}": give a user the same teams in every case`,
      );
    }
    users.set(user, teams);
  }
  return users;
}

async function withHarness(
  configPath: string,
  args: ParsedArgs,
  options: { readonly grafanaUsers?: ReadonlyMap<number, readonly string[]> },
  body: (gateway: Gateway) => Promise<void>,
): Promise<void> {
  const raw = await readConfigDocument(configPath);
  const upstream = await startCaptureUpstream();
  try {
    const tokensFile = stringFlag(args, 'tokens');
    const harness = await buildOfflineHarness(raw, configPath, upstream.url, {
      ...(tokensFile !== undefined ? { tokensFile } : {}),
      ...(options.grafanaUsers !== undefined ? { grafanaUsers: options.grafanaUsers } : {}),
    });
    try {
      let fileIndex = 0;
      await body({
        harness,
        async run(cases) {
          fileIndex++;
          const decisions = createMemorySink();
          const started = await startGateway(harness, decisions);
          try {
            const runner: CaseRunner = {
              harness,
              upstream,
              decisions,
              gatewayPort: started.port,
              tenantHeaders: [...new Set(harness.config.proxy.upstreams.map((u) => u.tenant_header.toLowerCase()))],
            };
            const out: CaseResult[] = [];
            for (const [index, testCase] of cases.entries())
              out.push(await runCase(runner, testCase, `scopegate-test-${fileIndex}-${index + 1}`));
            return out;
          } finally {
            await started.close();
          }
        },
      });
    } finally {
      await harness.close();
    }
  } finally {
    await upstream.close();
  }
}

async function startGateway(harness: OfflineHarness, decisions: MemorySink): Promise<{ port: number; close(): Promise<void> }> {
  const app: App = await createApp(harness.config, {
    logger: createLogger({ level: 'silent' }),
    clock: systemClock,
    collectProcessMetrics: false,
    decisionSink: decisions,
  });
  await app.start();
  const server: Server = createServer(app.handleProxy);
  server.on('upgrade', (req, socket, head) => app.handleUpgrade(req, socket, head));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await app.close();
    },
  };
}

/** `--init FILE`: the starter cases, with what the gateway does today as their expectations (review them). */
async function writeStarterFile(configPath: string, args: ParsedArgs, path: string): Promise<number> {
  if (
    !args.flags.has('force') &&
    (await access(path).then(
      () => true,
      () => false,
    ))
  ) {
    throw new UsageError(`test --init: ${path} exists (add --force to overwrite it)`);
  }
  let text = '';
  await withHarness(configPath, args, {}, async (gateway) => {
    const drafts = await starterCases(gateway.harness.config, gateway.harness);
    const placeholders = drafts.map((draft) => ({ ...draft, expect: {} }));
    const results = await gateway.run(placeholders);
    const cases = drafts.map((draft, i) => {
      const outcome = results[i]?.outcome;
      const { headers, ...request } = draft.request;
      return {
        name: draft.name,
        identity: draft.identity,
        request: Object.keys(headers).length === 0 ? request : draft.request,
        expect: outcome === undefined ? {} : expectationOf(outcome),
      };
    });
    text = `# scopegate test --config ${configPath} ${path}\n# Written by \`scopegate test --init\` from what the gateway does today: review every expectation.\n${stringifyYaml({ cases }, { aliasDuplicateObjects: false })}`;
  });
  await writeFile(path, text);
  process.stdout.write(`wrote ${path}\n`);
  return 0;
}
