import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { LoomError } from "../../shared/errors.ts";
import { parsePositiveInt } from "../options.ts";

/** Error codes that mean the command line named something that is not there. */
const BAD_INPUT = new Set(["BENCH_INPUT", "TASK_SET_INVALID"]);

const MAX_PARALLEL = 16;

interface BenchAgentFlags {
  ref: string;
  tasks?: string;
  filter?: string;
  parallel: number;
  json?: boolean;
  compare?: string[];
  keep?: boolean;
}

function parseFilter(value: string): string {
  if (!/^[a-z0-9@/._-]+$/i.test(value))
    throw new InvalidArgumentError(
      `--filter must be one tag, e.g. bugfix, small or a package name (got "${value}").`,
    );
  return value;
}

export function registerBenchAgent(program: Command): void {
  program
    .command("bench-agent")
    .description(
      "Score the Lab agent as it is at a ref on coding tasks (tasks/<name>: task.json, repo/ or an npm package + inject.patch, hidden/): each task in its own Lab (LOOM_RUNTIME, LOOM_LAB_MODEL through the model proxy), then its hidden tests. Prints per task solved, tokens, cost, wall time and tool calls, and solved/total with the cost per solved task; progress goes to stderr. Results are stored per ref under LOOM_STATE_DIR/bench-agent.",
    )
    .option("--ref <ref>", "the commit whose Lab agent runs (a branch, tag or sha)", "HEAD")
    .option("--tasks <dir>", "the task folder (default: tasks/ of this repository)")
    .option("--filter <tag>", "only the tasks carrying this tag (a kind, a size, a package)", parseFilter)
    .option(
      "--parallel <n>",
      `tasks run at once, 1 to ${MAX_PARALLEL}`,
      parsePositiveInt("--parallel", 1, MAX_PARALLEL),
      1,
    )
    .option("--json", "print one JSON object on stdout: {ref, model, solved, total, costUsd, tasks: [...]}")
    .option(
      "--compare <refs...>",
      "score two refs on the same tasks (reusing a stored result of the same ref, model, endpoint and tasks) and test the difference, paired task by task",
    )
    .option("--keep", "keep each run's task repositories and Lab state under LOOM_STATE_DIR/bench-agent/runs")
    .allowExcessArguments(false)
    .action(async (flags: BenchAgentFlags, command: Command) => {
      const [{ default: path }, { loadConfig }, bench, { formatBench }] = await Promise.all([
        import("node:path"),
        import("../../shared/config.ts"),
        import("../../bench-agent/run-bench.ts"),
        import("../../bench-agent/format.ts"),
      ]);
      if (flags.compare && flags.compare.length !== 2) {
        // Printed as commander prints a bad flag (a CommanderError thrown from here would exit 2 silently).
        command.error(
          `error: --compare takes exactly two refs, e.g. --compare main lab/gen-4 (got ${flags.compare.length}: ${flags.compare.join(" ")})`,
          { exitCode: 2, code: "commander.invalidArgument" },
        );
      }
      const config = loadConfig();
      const repo = process.cwd();
      const tasksDir = path.resolve(flags.tasks ?? path.join(repo, "tasks"));
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      const progress = (line: string) => process.stderr.write(`${line}\n`);
      const base = {
        repo,
        tasksDir,
        ...(flags.filter ? { filter: flags.filter } : {}),
        parallel: flags.parallel,
        config,
        progress,
        signal: abort.signal,
        ...(flags.keep ? { keep: true } : {}),
      };
      try {
        if (flags.compare) {
          const { compareRefs, formatComparison } = await import("../../bench-agent/compare.ts");
          const [a, b] = flags.compare as [string, string];
          const comparison = await compareRefs({ ...base, refs: [a, b] });
          process.stdout.write(
            flags.json ? `${JSON.stringify(comparison, null, 2)}\n` : formatComparison(comparison),
          );
          return;
        }
        const run = await bench.runBench({ ...base, ref: flags.ref });
        progress(`bench-agent: result stored in ${run.stored}`);
        process.stdout.write(flags.json ? `${JSON.stringify(run.result)}\n` : formatBench(run.result));
      } catch (err) {
        // Bad input (a ref that names no commit, a tasks folder with no task to run): a usage error.
        if (err instanceof LoomError && BAD_INPUT.has(err.code)) {
          process.stderr.write(`loom: ${err.message}\n`);
          process.exitCode = 2;
          return;
        }
        throw err;
      } finally {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
      }
    });
}
