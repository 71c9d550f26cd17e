import { Command, CommanderError } from "commander";
import { formatConfigError } from "../shared/config.ts";
import { LoomError } from "../shared/errors.ts";
import { registerAnalyze } from "./commands/analyze.ts";
import { registerDemo } from "./commands/demo.ts";
import { registerLab } from "./commands/lab.ts";
import { registerLabServer } from "./commands/lab-server.ts";
import { registerRun } from "./commands/run.ts";
import { registerTool } from "./commands/tool.ts";

/** Builds the `loom` command line; each command lives in its own module and loads its heavy parts lazily. */
export function buildProgram(): Command {
  const program = new Command("loom")
    .description("Loom: a coding agent that rewrites its own TypeScript source, one verified generation at a time.")
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ outputError: (str, write) => write(str) })
    .exitOverride();
  registerDemo(program);
  registerRun(program);
  registerTool(program);
  registerAnalyze(program);
  registerLab(program);
  registerLabServer(program);
  for (const cmd of program.commands) cmd.exitOverride().showHelpAfterError(`(run "loom ${cmd.name()} --help" for usage)`);
  return program;
}

/** Runs the CLI; returns the exit code instead of exiting so tests can call it in-process. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv as string[], { from: "user" });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version output are successes; anything else is a usage error already printed.
      const informational = ["commander.helpDisplayed", "commander.help", "commander.version"].includes(err.code);
      return informational ? err.exitCode : 2;
    }
    const configProblem = formatConfigError(err);
    if (configProblem !== undefined) {
      process.stderr.write(`loom: ${configProblem}\n`);
      return 1;
    }
    if (err instanceof LoomError) {
      process.stderr.write(`loom: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`loom: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  }
}
