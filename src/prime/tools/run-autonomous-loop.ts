import { z } from "zod";
import { defineTool } from "../../agent/tool.ts";
import type { PrimeToolDeps } from "../ports.ts";

const AutonomousInput = z.strictObject({
  maxGenerations: z
    .number()
    .int()
    .min(1)
    .max(100_000)
    .optional()
    .describe("stop after this many generations (default LOOM_MAX_GENERATIONS)"),
});

export function runAutonomousLoopTool(deps: PrimeToolDeps) {
  return defineTool({
    name: "run_autonomous_loop",
    description:
      "Start the autonomous loop in the background: reflect, spawn, verify, promote or roll back, generation after generation, until LOOM_MAX_GENERATIONS, LOOM_TOKEN_BUDGET or a plateau of LOOM_PLATEAU_WINDOW generations without fitness gain. Returns at once; GET /stats and /logs follow it. It resumes by itself after Prime restarts.",
    input: AutonomousInput,
    effect: "self-modify",
    run: async ({ maxGenerations }) => {
      const snapshot = await deps.autonomous.start(maxGenerations === undefined ? {} : { maxGenerations });
      return {
        content: `the autonomous loop is running${maxGenerations ? ` (at most ${maxGenerations} generations)` : ""}; state: ${JSON.stringify(snapshot.state)}`,
        details: snapshot,
      };
    },
  });
}
