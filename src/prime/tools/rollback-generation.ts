import { RollbackRequest } from "../../../schemas/supervisor.ts";
import { defineTool } from "../../agent/tool.ts";
import type { PrimeToolDeps } from "../ports.ts";

/** The reason is required here: the next reflection turns it into a lesson. */
const RollbackInput = RollbackRequest.extend({
  reason: RollbackRequest.shape.reason
    .unwrap()
    .describe("what went wrong, as a lesson for the next generation"),
});

export function rollbackGenerationTool(deps: PrimeToolDeps) {
  return defineTool({
    name: "rollback_generation",
    description:
      "Roll back a generation that did not pass: the Supervisor discards lab/gen-N and records the reason, which the next reflection learns from.",
    input: RollbackInput,
    effect: "self-modify",
    run: async ({ generation, reason }, { signal }) => {
      const done = await deps.client.rollback(generation, reason, signal);
      return { content: `generation ${generation} rolled back: ${done.reason}`, details: done };
    },
  });
}
