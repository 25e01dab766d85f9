import { readFile } from 'node:fs/promises';
import { CliError, EXIT } from './errors.js';

/** Standard input to its end, without the one trailing newline `echo` and most secret stores add. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/**
 * A secret from a file (a mounted secret, a key file) or from standard input (`-`): never from
 * the command line, where shell history and the process list would keep it.
 */
export async function readSecret(source: string, flag: string): Promise<string> {
  if (source === '-') return readStdin();
  try {
    return (await readFile(source, 'utf8')).replace(/\r?\n$/, '');
  } catch (err) {
    throw new CliError('RPM_ERR_REQUEST_INVALID', `${flag}: cannot read ${source} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, EXIT.usage);
  }
}
