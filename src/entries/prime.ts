// The Prime agent process (bundled to dist/prime.mjs): Prime's own commands and the read-only ones it uses.
import { registerAnalyze } from "../cli/commands/analyze.ts";
import { registerAutonomous } from "../cli/commands/autonomous.ts";
import { registerGenerations } from "../cli/commands/generations.ts";
import { registerPrime } from "../cli/commands/prime.ts";
import { registerReflect } from "../cli/commands/reflect.ts";
import { registerSpawn } from "../cli/commands/spawn.ts";
import { registerTool } from "../cli/commands/tool.ts";
import { runCli } from "../cli/program.ts";

const PRIME_COMMANDS = [
  registerPrime,
  registerReflect,
  registerSpawn,
  registerAutonomous,
  registerAnalyze,
  registerGenerations,
  registerTool,
];

process.exitCode = await runCli(process.argv.slice(2), PRIME_COMMANDS);
