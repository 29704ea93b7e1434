import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config } from './config.js';

/** A configuration that cannot be used; `problems` name each bad key path. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(source: string, problems: readonly string[]) {
    super(`invalid configuration ${source}:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
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
  return parseConfig(raw, path);
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
