// `domxml argv-diff A B`: compares two QEMU command lines semantically; the logic is the
// library's (src/compare/argv-diff.ts).
import type { Argv as Yargs, CommandModule } from 'yargs';
import { diffArgv, formatArgvDiff } from '../compare/argv-diff.js';
import { readInput } from './io.js';

interface ArgvDiffArgs {
  a: string;
  b: string;
  format: 'text' | 'json';
}

export function argvDiffCommand(setCode: (code: number) => void): CommandModule {
  return {
    command: 'argv-diff <a> <b>',
    describe: 'Compare two QEMU command lines: JSON and QemuOpts spellings are equal, order matters only where QEMU uses it',
    builder: (y: Yargs) =>
      y
        .positional('a', { describe: 'first command line (file, - for stdin)', type: 'string', demandOption: true })
        .positional('b', { describe: 'second command line (file)', type: 'string', demandOption: true })
        .option('format', { choices: ['text', 'json'] as const, default: 'text', describe: 'report format' })
        .example('$0 argv-diff old.args new.args', "what changed between two libvirt versions' output"),
    handler: (raw) => {
      const a = raw as unknown as ArgvDiffArgs;
      const d = diffArgv(readInput(a.a), readInput(a.b), a.a, a.b);
      process.stdout.write(a.format === 'json' ? `${JSON.stringify(d, (_k, v) => (v instanceof Map ? Object.fromEntries(v) : v), 2)}\n` : formatArgvDiff(d));
      setCode(d.equal ? 0 : 1);
    },
  };
}
