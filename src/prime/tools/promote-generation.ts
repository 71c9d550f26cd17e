import { PromoteRequest } from "../../../schemas/supervisor.ts";
import { defineTool } from "../../agent/tool.ts";
import type { PrimeToolDeps } from "../ports.ts";

export function promoteGenerationTool(deps: PrimeToolDeps) {
  return defineTool({
    name: "promote_generation",
    description:
      "Promote a verified generation: the Supervisor merges lab/gen-N into main and tags it gen-N. Only after verify_generation passed. The Supervisor then restarts Prime on the new main.",
    input: PromoteRequest,
    effect: "self-modify",
    run: async ({ generation }, { signal }) => {
      const promoted = await deps.client.promote(generation, signal);
      return {
        content: `generation ${generation} promoted: main is now ${promoted.mergeCommit} (tag ${promoted.tag})`,
        details: promoted,
      };
    },
  });
}
