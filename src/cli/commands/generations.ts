import type { Command } from "commander";

export function registerGenerations(program: Command): void {
  program
    .command("generations")
    .description(
      "List the generations the Supervisor recorded under LOOM_STATE_DIR (outcome, tokens, reason).",
    )
    .option("--json", "print the records as JSON")
    .action(async (opts: { json?: boolean }) => {
      const [{ existsSync }, { join }, { loadConfig }, { GenerationStore, formatGenerations }] =
        await Promise.all([
          import("node:fs"),
          import("node:path"),
          import("../../shared/config.ts"),
          import("../../supervisor/store/index.ts"),
        ]);
      const config = loadConfig();
      // Listing must not create a state folder where no Supervisor ever ran.
      const records = existsSync(join(config.stateDir, "generations"))
        ? await (await GenerationStore.open(config.stateDir)).list()
        : [];
      process.stdout.write(opts.json ? `${JSON.stringify(records, null, 2)}\n` : formatGenerations(records));
    });
}
