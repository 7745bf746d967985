/** The command registry: each entry adds one yargs command. */
import type { Argv } from 'yargs';
import { demoApiCommand, demoCommand } from './demo.ts';
import { listCommand } from './list.ts';
import { planCommand } from './plan.ts';
import { runCommand } from './run.ts';
import { runnerCommand } from './runner.ts';
import { emergencyStopCommand, guardCommand, statusCommand } from './safety.ts';
import { proxyCommand } from './proxy.ts';
import { holdCommand } from './hold.ts';
import { exportCommand } from './export.ts';
import { suiteCommand } from './suite.ts';
import { reportCommand } from './report.ts';
import { compareCommand } from './compare.ts';
import { validateCommand } from './validate.ts';

export type SetCode = (code: number) => void;
export type Command = (cli: Argv, setCode: SetCode) => Argv;

export const commands: Command[] = [
  runCommand,
  runnerCommand,
  planCommand,
  validateCommand,
  listCommand,
  emergencyStopCommand,
  statusCommand,
  proxyCommand,
  reportCommand,
  compareCommand,
  exportCommand,
  suiteCommand,
  demoCommand,
  demoApiCommand,
  guardCommand,
  holdCommand,
];
