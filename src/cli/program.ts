import { Command, CommanderError } from "commander";
import { formatConfigError } from "../shared/config.ts";
import { LoomError } from "../shared/errors.ts";

/** Adds one command to the program; each lives in its own module under `src/cli/commands/`. */
export type Registrar = (program: Command) => void;

/**
 * Builds a `loom` command line from the given commands only. Kept free of command imports so a
 * process entry (e.g. the Lab's) bundles just the commands it lists and nothing they would not reach.
 */
export function createProgram(registrars: readonly Registrar[]): Command {
  const program = new Command("loom")
    .description(
      "Loom: a coding agent that rewrites its own TypeScript source, one verified generation at a time.",
    )
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ outputError: (str, write) => write(str) })
    .exitOverride();
  for (const register of registrars) register(program);
  for (const cmd of program.commands)
    cmd.exitOverride().showHelpAfterError(`(run "loom ${cmd.name()} --help" for usage)`);
  return program;
}

/** Runs a command line; returns the exit code instead of exiting so tests can call it in-process. */
export async function runCli(argv: readonly string[], registrars: readonly Registrar[]): Promise<number> {
  try {
    await createProgram(registrars).parseAsync(argv as string[], { from: "user" });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version output are successes; anything else is a usage error already printed.
      const informational = ["commander.helpDisplayed", "commander.help", "commander.version"].includes(
        err.code,
      );
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
    process.stderr.write(
      `loom: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    return 1;
  }
}
