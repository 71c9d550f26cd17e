import type { Command } from "commander";
import { registerAnalyze } from "./commands/analyze.ts";
import { registerAutonomous } from "./commands/autonomous.ts";
import { registerBenchAgent } from "./commands/bench-agent.ts";
import { registerDemo } from "./commands/demo.ts";
import { registerGenerations } from "./commands/generations.ts";
import { registerKube } from "./commands/kube.ts";
import { registerLab } from "./commands/lab.ts";
import { registerLabRelay } from "./commands/lab-relay.ts";
import { registerLabServer } from "./commands/lab-server.ts";
import { registerLabStandby } from "./commands/lab-standby.ts";
import { registerPrime } from "./commands/prime.ts";
import { registerReflect } from "./commands/reflect.ts";
import { registerRun } from "./commands/run.ts";
import { registerSpawn } from "./commands/spawn.ts";
import { registerSupervisor } from "./commands/supervisor.ts";
import { registerTool } from "./commands/tool.ts";
import { createProgram, type Registrar, runCli } from "./program.ts";

/** Every command of the `loom` CLI, in help order. */
export const ALL_COMMANDS: readonly Registrar[] = [
  registerDemo,
  registerRun,
  registerTool,
  registerAnalyze,
  registerLab,
  registerLabStandby,
  registerLabServer,
  registerLabRelay,
  registerSupervisor,
  registerGenerations,
  registerPrime,
  registerReflect,
  registerSpawn,
  registerAutonomous,
  registerBenchAgent,
  registerKube,
];

/** Builds the `loom` command line; each command lives in its own module and loads its heavy parts lazily. */
export function buildProgram(registrars: readonly Registrar[] = ALL_COMMANDS): Command {
  return createProgram(registrars);
}

/** Runs the CLI; returns the exit code instead of exiting so tests can call it in-process. */
export function main(
  argv: readonly string[],
  registrars: readonly Registrar[] = ALL_COMMANDS,
): Promise<number> {
  return runCli(argv, registrars);
}
