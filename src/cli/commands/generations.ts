import type { Command } from "commander";

export function registerGenerations(program: Command): void {
  program
    .command("generations")
    .description(
      "List the generations the Supervisor recorded under LOOM_STATE_DIR (outcome, tokens, reason); --tree draws the lineage.",
    )
    .option("--json", "print the records as JSON (with --tree: the derived tree)")
    .option(
      "--tree",
      "draw the lineage as a tree: each generation under its parent, the promoted path marked ★, where each discarded one stopped, and the cost per promoted generation",
    )
    .allowExcessArguments(false)
    .action(async (opts: { json?: boolean; tree?: boolean }) => {
      const [{ existsSync }, { join }, { loadConfig }, store] = await Promise.all([
        import("node:fs"),
        import("node:path"),
        import("../../shared/config.ts"),
        import("../../supervisor/store/index.ts"),
      ]);
      const config = loadConfig();
      // Listing must not create a state folder where no Supervisor ever ran.
      const records = existsSync(join(config.stateDir, "generations"))
        ? await (await store.GenerationStore.open(config.stateDir)).list()
        : [];
      if (opts.tree) {
        const derived = store.deriveLineageTree(records);
        process.stdout.write(
          opts.json ? `${JSON.stringify(derived, null, 2)}\n` : store.formatLineageTree(derived),
        );
        return;
      }
      process.stdout.write(
        opts.json ? `${JSON.stringify(records, null, 2)}\n` : store.formatGenerations(records),
      );
    });
}
