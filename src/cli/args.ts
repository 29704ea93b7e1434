/** A tiny argv parser: `command --flag value --flag=value --switch`. */

/**
 * Flags that never take a value: the word after one is a positional (`test --watch a.yaml`, `--init --force b`).
 * Any other flag takes the next word unless it is another flag (`--init` alone, or `--init FILE`).
 */
const SWITCHES: ReadonlySet<string> = new Set(['watch', 'force', 'version', 'help']);
export interface ParsedArgs {
  readonly command: string | undefined;
  readonly flags: ReadonlyMap<string, string | true>;
  /** Arguments after the command that are not flags or flag values (`scopegate test … a.yaml b.yaml`). */
  readonly positionals: readonly string[];
}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const flags = new Map<string, string | true>();
  let command: string | undefined;
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      if (eq !== -1) {
        flags.set(arg.slice(2, eq), arg.slice(eq + 1));
      } else {
        const next = argv[i + 1];
        if (next !== undefined && !next.startsWith('--') && !SWITCHES.has(arg.slice(2))) {
          flags.set(arg.slice(2), next);
          i++;
        } else {
          flags.set(arg.slice(2), true);
        }
      }
    } else if (arg === '-h') {
      flags.set('help', true);
    } else if (command === undefined) {
      command = arg;
    } else {
      positionals.push(arg);
    }
  }
  return { command, flags, positionals };
}

export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const value = args.flags.get(name);
  return typeof value === 'string' ? value : undefined;
}

/** A wrong command line: the CLI prints the message and the usage, and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
