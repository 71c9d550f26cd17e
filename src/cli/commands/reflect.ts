import type { Command } from "commander";

export function registerReflect(program: Command): void {
  program
    .command("reflect")
    .description(
      "Reflect on the repository (LOOM_REPO_PATH) and the Supervisor's lineage, and print the proposed program.md (also saved to LOOM_STATE_DIR/program.md). Calls Prime's model.",
    )
    .option("--json", "print {program, contract, file} as JSON")
    .option("--guidance <text>", "a steer for this reflection, e.g. the area to improve")
    .action(async (opts: { json?: boolean; guidance?: string }) => {
      const [{ loadConfig }, { createPrimeCore, primePlace }, { primeThinking }, { reflectAndPropose }] =
        await Promise.all([
          import("../../shared/config.ts"),
          import("../../prime/start-prime.ts"),
          import("../../prime/thinking.ts"),
          import("../../prime/tools/reflect-and-propose.ts"),
        ]);
      const config = loadConfig();
      for (const w of config.warnings) process.stderr.write(`loom: warning: ${w}\n`);
      const core = await createPrimeCore({
        config,
        place: primePlace(config, {}),
        thinking: primeThinking,
        log: (line) => process.stderr.write(`${line}\n`),
      });
      const proposal = await reflectAndPropose(core.deps, { guidance: opts.guidance });
      process.stdout.write(
        opts.json
          ? `${JSON.stringify(proposal, null, 2)}\n`
          : proposal.program.endsWith("\n")
            ? proposal.program
            : `${proposal.program}\n`,
      );
      process.stderr.write(`loom: saved to ${proposal.file}\n`);
    });
}
