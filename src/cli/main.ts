import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/load.js';
import { parseArgs, stringFlag, UsageError, type ParsedArgs } from './args.js';
import { serve } from './serve.js';

/** Where packages and the container image put the config (the FHS place for a service's configuration). */
export const DEFAULT_CONFIG_PATH = '/etc/scopegate/config.toml';

const HELP = `scopegate: multi-tenant auth gateway for Prometheus and the Grafana LGTM stack

Usage:
  scopegate serve --config FILE          run the gateway
  scopegate check-config --config FILE   validate a config file and the files it names: exit 0, or list every problem
  scopegate explain --config FILE (--token T | --policy '{"namespaces":["a","b"]}' | --grafana-user ID) --query Q [--type prometheus|mimir|victoriametrics|loki|tempo]
                                         print the query as it would be sent upstream; exit 0 when printed,
                                         1 when the gateway would refuse it (unknown or refused token, no
                                         label policy, a query it cannot enforce: the reason is printed);
                                         --grafana-user reads the user's teams from [auth.grafana]'s Grafana once
                                         2 on a usage error
  scopegate test --config FILE [--format text|junit] [--tokens FILE] TESTS.yaml...
                                         run policy test cases offline through the real pipeline: exit 0 when
                                         all pass, 1 when one fails, 2 on a usage, test file or config error
  scopegate test --config FILE --watch [--format text|junit] [--tokens FILE] TESTS.yaml...
                                         run them, then again whenever the config, a file it names or a test
                                         file changes, until Ctrl-C; exits with the last run's code
  scopegate test --config FILE --init [FILE] [--force]
                                         write starter cases (an allow and a deny per identity) from the config
  scopegate audit verify [--key-file FILE] LOG...
                                         check the decision log's hash chain (files oldest first): exit 0 when
                                         it holds, 1 naming the first broken or missing line, 2 on a usage error
  scopegate --help | --version

The config is --config FILE, else $SCOPEGATE_CONFIG, else ${DEFAULT_CONFIG_PATH}.
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function configPath(args: ParsedArgs): string {
  const fromEnv = process.env.SCOPEGATE_CONFIG;
  return stringFlag(args, 'config') ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_CONFIG_PATH);
}

/**
 * A start-up failure is one line on stderr (which key or address, what to do), never a stack trace. A failure
 * that is not a ConfigError is a bug or an unforeseen case: its stack goes to stderr too when SCOPEGATE_DEBUG is set.
 */
function reportStartFailure(error: unknown): void {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    return;
  }
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
  process.stderr.write(`scopegate: cannot start: ${message}\n`);
  if (process.env.SCOPEGATE_DEBUG && error instanceof Error) process.stderr.write(`${error.stack ?? ''}\n`);
}

export async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv);
  if (args.flags.has('version')) {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (args.flags.has('help') || args.command === undefined || args.command === 'help') {
    process.stdout.write(HELP);
    return args.command === undefined && !args.flags.has('help') ? 2 : 0;
  }
  try {
    switch (args.command) {
      case 'serve':
        try {
          await serve(configPath(args));
        } catch (error) {
          if (error instanceof UsageError) throw error;
          reportStartFailure(error);
          // Whatever was built before the failure (watchers, timers, a listener) must not keep the process up.
          process.exit(1);
        }
        return -1; // keeps running; exit happens on signal
      case 'check-config': {
        const path = configPath(args);
        const { checkConfigFile } = await import('./check-files.js');
        const problems = await checkConfigFile(path);
        if (problems.length > 0) throw new ConfigError(path, problems);
        process.stdout.write(`config ok: ${path}\n`);
        return 0;
      }
      case 'explain': {
        const { explain, ExplainError } = await import('./explain.js');
        try {
          const { text, refused } = await explain(configPath(args), args);
          process.stdout.write(`${text}\n`);
          return refused ? 1 : 0;
        } catch (error) {
          if (!(error instanceof ExplainError)) throw error;
          process.stderr.write(`${error.message}\n`);
          return 1;
        }
      }
      case 'test': {
        const { runPolicyTests } = await import('./policy-test/run.js');
        const { TestFileError } = await import('./policy-test/cases.js');
        const watching = args.flags.get('watch');
        const runOnce = async () => {
          try {
            return await runPolicyTests(configPath(args), args);
          } catch (error) {
            if (error instanceof ConfigError || error instanceof TestFileError) {
              process.stderr.write(`${error.message}\n`);
              return 2;
            }
            throw error;
          }
        };
        if (watching === undefined || args.flags.has('init')) return await runOnce();
        if (args.positionals.length === 0) throw new UsageError('test: name at least one test file (tests/*.yaml)');
        const { watchPolicyTests } = await import('./policy-test/watch.js');
        const stop = new Promise<void>((resolve) => {
          process.once('SIGINT', () => resolve());
          process.once('SIGTERM', () => resolve());
        });
        return await watchPolicyTests(configPath(args), args, runOnce, {
          debounceMs: 200,
          stop,
          log: (line) => process.stderr.write(`${line}\n`),
        });
      }
      case 'audit': {
        const { audit } = await import('./audit.js');
        return await audit(args);
      }
      default:
        throw new UsageError(`unknown command "${args.command}"`);
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n\n${HELP}`);
      return 2;
    }
    throw error;
  }
}
