import { readFile } from 'node:fs/promises';
import { verifyChain } from '../observability/decision-log/verify.js';
import { stringFlag, UsageError, type ParsedArgs } from './args.js';

/**
 * `scopegate audit verify [--key-file K] FILE…`: checks the decision log's hash chain across the files, oldest
 * first. Exit 0 when it holds (the summary and the last hash printed), 1 naming the first broken or missing
 * line, 2 on a usage error.
 */
export async function audit(args: ParsedArgs): Promise<number> {
  const [action, ...files] = args.positionals;
  if (action !== 'verify') throw new UsageError('audit: the action is verify (scopegate audit verify FILE…)');
  if (files.length === 0) throw new UsageError('audit verify: name the decision log files, oldest first');
  const keyFile = stringFlag(args, 'key-file');
  let key: Buffer | undefined;
  if (keyFile !== undefined) {
    try {
      key = Buffer.from((await readFile(keyFile, 'utf8')).trim());
    } catch (error) {
      throw new UsageError(`audit verify: --key-file ${keyFile}: cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
  }
  const report = await verifyChain(files, key);
  for (const note of report.notes) process.stdout.write(`note: ${note}\n`);
  if (report.broken !== undefined) {
    process.stdout.write(`BROKEN: ${report.broken}\n`);
    return 1;
  }
  const range = report.firstSeq === undefined ? 'no lines' : `seq ${report.firstSeq}..${report.lastSeq ?? report.firstSeq}`;
  process.stdout.write(
    `ok: ${report.lines} lines (${range}) in ${files.length} file${files.length === 1 ? '' : 's'}; last hash ${report.lastHash ?? '-'}\n`,
  );
  return 0;
}
