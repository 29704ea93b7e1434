import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config } from './config.js';

/**
 * A configuration that cannot be used; `problems` name each bad key path (`key: what is wrong`). The message
 * is one line for one problem, else a heading and one indented line per problem. Parts that do not know the
 * file's name use the source `config`; the CLI names the file (`withSource`).
 */
export class ConfigError extends Error {
  readonly source: string;
  readonly problems: readonly string[];
  constructor(source: string, problems: readonly string[]) {
    super(
      problems.length === 1
        ? `invalid configuration ${source}: ${problems[0]}`
        : `invalid configuration ${source}:\n  ${problems.join('\n  ')}`,
    );
    this.name = 'ConfigError';
    this.source = source;
    this.problems = problems;
  }

  withSource(source: string): ConfigError {
    return new ConfigError(source, this.problems);
  }
}

const ERRNO_HINTS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file: check the path',
  EACCES: 'permission denied: make it readable by the gateway user',
  EISDIR: 'is a folder, not a file',
  ENOTDIR: 'a part of the path is not a folder: check the path',
};

/** `ENOENT` → `cannot read (ENOENT: no such file: check the path)`: the code, and what to do about it. */
export function describeReadError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === undefined) return `cannot read (${error instanceof Error ? error.message : String(error)})`;
  const hint = ERRNO_HINTS[code];
  return `cannot read (${code}${hint === undefined ? '' : `: ${hint}`})`;
}

/**
 * What a part that failed to build from `key` becomes: one problem naming the key (and the file, for an
 * unreadable one), so start-up and reload report it in one line instead of a stack trace.
 */
export function configErrorAt(key: string, error: unknown, path?: string): ConfigError {
  if (error instanceof ConfigError) return error;
  const errno = error as NodeJS.ErrnoException | undefined;
  if (typeof errno?.code === 'string' && typeof errno.path === 'string') {
    return new ConfigError('config', [`${key}: ${errno.path}: ${describeReadError(error)}`]);
  }
  const message = error instanceof Error ? error.message : String(error);
  // Parsers that read a path may already name it; say it once.
  const named = path === undefined || message.startsWith(path) ? message : `${path}: ${message}`;
  return new ConfigError('config', [`${key}: ${named}`]);
}

/**
 * Replaces `${NAME}` and `${NAME:-default}` with environment values. An unset variable without a default
 * is an error (a silently empty secret is worse than a refusal to start). `$${` escapes a literal `${`.
 */
export function substituteEnv(text: string, env: NodeJS.ProcessEnv, problems: string[]): string {
  return text.replace(/\$(\$)?\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (whole, escaped, name, fallback) => {
    if (escaped) return whole.slice(1);
    const value = env[name as string];
    if (value !== undefined) return value;
    if (fallback !== undefined) return fallback as string;
    problems.push(`environment variable ${name as string} is not set (referenced as \${${name as string}})`);
    return '';
  });
}

function parseDocument(text: string, format: 'toml' | 'yaml'): unknown {
  return format === 'toml' ? parseToml(text) : parseYaml(text);
}

function formatOf(path: string): 'toml' | 'yaml' {
  const ext = extname(path).toLowerCase();
  if (ext === '.toml') return 'toml';
  if (ext === '.yaml' || ext === '.yml' || ext === '.json') return 'yaml';
  throw new ConfigError(path, [`unknown config file extension "${ext}" (use .toml, .yaml, .yml or .json)`]);
}

/** `proxy.upstreams[1].match` from zod's path array. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(root)' : out;
}

export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => `${formatIssuePath(issue.path)}: ${issue.message}`);
}

/** Validates an already-parsed document: the step `check-config`, `serve` and reload share. */
export function parseConfig(raw: unknown, source = 'config'): Config {
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(source, formatIssues(result.error.issues));
  return deepFreeze(result.data);
}

/** read → substitute env → parse → validate → normalise → freeze. */
export async function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  return parseConfig(await readConfigDocument(path, env), path);
}

/** The first steps of `loadConfigFile`: read, substitute env, parse; the document is not validated yet. */
export async function readConfigDocument(path: string, env: NodeJS.ProcessEnv = process.env): Promise<unknown> {
  const format = formatOf(path);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(path, [`cannot read file: ${(error as NodeJS.ErrnoException).code ?? String(error)}`]);
  }
  const problems: string[] = [];
  const substituted = substituteEnv(text, env, problems);
  if (problems.length > 0) throw new ConfigError(path, problems);
  let raw: unknown;
  try {
    raw = parseDocument(substituted, format);
  } catch (error) {
    throw new ConfigError(path, [`${format.toUpperCase()} syntax error: ${describeSyntaxError(error)}`]);
  }
  return raw;
}

/**
 * The parser's first line, with the position: YAML's message already ends "at line L, column C"; smol-toml's
 * does not, but its TomlError carries both (1-based).
 */
function describeSyntaxError(error: unknown): string {
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
  if (error instanceof TomlError) return `${message.replace(/^Invalid TOML document: /, '')} at line ${error.line}, column ${error.column}`;
  return message;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !(value instanceof RegExp) && !(value instanceof URL)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
