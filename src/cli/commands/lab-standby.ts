import type { Command } from "commander";
import { runCli } from "../program.ts";
import { registerLab } from "./lab.ts";

export function registerLabStandby(program: Command): void {
  program
    .command("lab-standby")
    .description(
      "A pooled Lab: load the Lab's modules, then wait on a unix socket for the Supervisor's claim (one JSON line {args, env}: the `loom lab` command line and environment of a generation) and run it as `loom lab` would. What LOOM_LAB_POOL's containers run.",
    )
    .requiredOption("--socket <path>", "the unix socket the claim arrives on")
    .action(async (opts: { socket: string }) => {
      // What `loom lab` and its agent import, loaded now: a claimed Lab starts without that wait.
      const [{ resolve }, { awaitClaim }] = await Promise.all([
        import("node:path"),
        import("../../lab/standby.ts"),
        import("../../shared/config.ts"),
        import("../../lab/run-lab.ts"),
        import("../print-events.ts"),
        import("../../../lab-runtime/eval/shared-engines.ts"),
        import("../../agent/ts/worker/ts-worker-client.ts"),
        import("../../agent/lab-catalog.ts"),
        import("../../agent/ts/tools/tool-specs.ts"),
        import("../../agent/model-for-role.ts"),
        import("../../agent/tool-registry.ts"),
        import("../../lab/worker.ts"),
      ]);
      // Until claimed, a stop ends it at once (nothing of a generation's is here yet).
      const stop = () => process.exit(0);
      process.on("SIGTERM", stop);
      process.on("SIGINT", stop);
      const claim = await awaitClaim(resolve(opts.socket));
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
      process.stderr.write(`lab-standby: claimed: ${claim.args.join(" ")}\n`);
      for (const [name, value] of Object.entries(claim.env)) process.env[name] = value;
      process.exitCode = await runCli(claim.args, [registerLab]);
    });
}
