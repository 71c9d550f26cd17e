import type { Command } from "commander";
import { parseSupervisorUrl } from "./prime.ts";

export function registerSpawn(program: Command): void {
  program
    .command("spawn")
    .description(
      "Start a generation on the Supervisor (LOOM_SUPERVISOR_URL) with this program.md, wait until its Lab is done, and print the outcome. Exit 1 unless the generation reached verifying.",
    )
    .argument("<program.md>", "the contract the Lab carries out")
    .option("--supervisor <url>", "the Supervisor's URL (default LOOM_SUPERVISOR_URL)", parseSupervisorUrl)
    .option("--json", "print the generation record as JSON")
    .action(async (programPath: string, opts: { supervisor?: string; json?: boolean }) => {
      const [
        { readFile },
        { labWaitMs, loadConfig },
        { LoomError },
        { supervisorClientFor },
        { describeGeneration },
      ] = await Promise.all([
        import("node:fs/promises"),
        import("../../shared/config.ts"),
        import("../../shared/errors.ts"),
        import("../../prime/supervisor-client.ts"),
        import("../../prime/tools/describe.ts"),
      ]);
      const programText = await readFile(programPath, "utf8").catch((err: NodeJS.ErrnoException) => {
        throw new LoomError("PROGRAM_NOT_FOUND", `cannot read ${programPath}: ${err.code ?? err.message}`);
      });
      if (!programText.trim())
        throw new LoomError("PROGRAM_EMPTY", `${programPath} is empty; write the task in it first`);
      const config = loadConfig();
      const client = supervisorClientFor(config, opts.supervisor ? { url: opts.supervisor } : {});
      const abort = new AbortController();
      const onSignal = () => abort.abort();
      process.on("SIGINT", onSignal);
      try {
        const spawned = await client.spawn({ program: programText }, abort.signal);
        process.stderr.write(
          `loom: generation ${spawned.generation} started (${spawned.branch}); waiting for its Lab\n`,
        );
        let last = "";
        const record = await client.waitForGeneration(spawned.generation, {
          signal: abort.signal,
          timeoutMs: labWaitMs(config),
          onPoll: (r) => {
            if (r.outcome !== last) process.stderr.write(`loom: generation ${r.generation}: ${r.outcome}\n`);
            last = r.outcome;
          },
        });
        process.stdout.write(
          opts.json ? `${JSON.stringify(record, null, 2)}\n` : `${describeGeneration(record)}\n`,
        );
        if (record.outcome !== "verifying") process.exitCode = 1;
      } finally {
        process.off("SIGINT", onSignal);
      }
    });
}
