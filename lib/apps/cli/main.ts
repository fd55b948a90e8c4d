#!/usr/bin/env node
/**
 * The `mobilenet` command. Each subcommand lives in lib/apps/cli/commands/<name>.ts and exports
 * `register(program)`; they are discovered here so that adding one touches no shared file.
 */
import { Command } from 'commander';
import * as fs from 'fs';
import * as path from 'path';
import { MobileNetError } from '../../core';

export interface CommandModule {
  register(program: Command): void;
}

export function buildProgram(): Command {
  const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', '..', '..', 'package.json'), 'utf8')) as { version: string };
  const program = new Command('mobilenet')
    .description('MobileNet v1 on a oneDNN engine: classify images, measure the paper, serve a model')
    .version(pkg.version);
  const dir = path.join(__dirname, 'commands');
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.js')).sort() : [];
  for (const file of files) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(path.join(dir, file)) as Partial<CommandModule>;
    if (typeof mod.register === 'function') mod.register(program);
  }
  return program;
}

/** Prints a MobileNetError as `error [CODE]: message` and sets exit code 1; anything else is a bug and shows its stack. */
export function reportError(e: unknown): void {
  if (e instanceof MobileNetError) process.stderr.write(`mobilenet: error [${e.code}]: ${e.message}\n`);
  else process.stderr.write(`mobilenet: unexpected error: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exitCode = 1;
}

if (require.main === module) {
  buildProgram().parseAsync(process.argv).catch(reportError);
}
