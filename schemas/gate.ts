import { z } from "zod";

/**
 * The gate: the code that decides what reaches main (verification, fitness, the fixed-point checks,
 * promote / rollback / reset, path confinement, the tool catalog's effect filter, the registry's policy
 * hooks) and the tests that pin it. Repo-relative files and folders. The list lives here, beside the
 * schemas, so a Lab can read it but never change it (a branch that changes schemas/ is refused); a
 * candidate whose diff touches one of these paths passes through verification as usual but is never
 * promoted automatically — it waits for a person's explicit approval (`POST /promote` with
 * `approveGateChange: true`) or a rollback.
 */
export const GATE_PATHS: readonly string[] = [
  "src/supervisor/verify",
  // Under swarm, what a verification step checks out and runs: its relay and the endpoint it clones from.
  "src/supervisor/gateway",
  "src/lab/relay.ts",
  "src/supervisor/git/fingerprint.ts",
  "src/supervisor/git/fixed-points.ts",
  "src/supervisor/git/promote.ts",
  "src/supervisor/git/rollback.ts",
  "src/supervisor/git/reset-main.ts",
  "src/supervisor/lifecycle/controller.ts",
  "src/supervisor/store/transitions.ts",
  "src/agent/tools/paths.ts",
  "src/agent/tool-registry.ts",
  "src/agent/tool-policy.ts",
  "src/agent/lab-catalog.ts",
  "src/agent/catalog.ts",
  "test/gate",
  "test/supervisor/verify/fitness.test.ts",
  "test/supervisor/git/fingerprint.test.ts",
  "test/agent/tools/paths.test.ts",
  "test/agent/tool-policy.test.ts",
  "test/supervisor/git/promote.test.ts",
  "test/supervisor/git/main-moves.test.ts",
  "stryker.config.mjs",
  "scripts/mutation",
];

/**
 * Whether a candidate's diff touches the gate, measured by the Supervisor against main: the gate's
 * files it changes (added, edited, removed or renamed), empty when it touches none.
 */
export const GateStage = z.object({
  touched: z.boolean(),
  files: z.array(z.string()),
});
export type GateStage = z.infer<typeof GateStage>;
