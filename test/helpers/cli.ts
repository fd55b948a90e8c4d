/** Runs the built CLI (dist/lib/apps/cli/main.js) as a user does: a separate process, its exit code and output. */
import { execFile } from 'child_process';
import * as path from 'path';
import { REPO_ROOT } from './data';

export const CLI = path.join(REPO_ROOT, 'dist', 'lib', 'apps', 'cli', 'main.js');

export interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

export function cli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 64 << 20 }, (error, stdout, stderr) =>
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }));
  });
}
