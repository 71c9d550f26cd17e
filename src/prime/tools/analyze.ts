import { z } from "zod";
import { defineTool } from "../../agent/tool.ts";
import { analyzeRepo } from "../../analyze/analyze-repo.ts";
import { formatAnalysis } from "../../analyze/format-analysis.ts";

export const analyzeTool = defineTool({
  name: "analyze",
  description:
    "Offline analysis of the repository: the largest and most complex declarations, exported API, import graph and cycles, which tests import which sources, unused exports.",
  input: z.strictObject({
    top: z.number().int().min(1).max(200).default(10).describe("length of each top-N list"),
  }),
  effect: "read",
  timeoutMs: 5 * 60_000,
  run: async ({ top }, { workspace }) => {
    const report = await analyzeRepo(workspace, { top });
    return { content: formatAnalysis(report, { maxItems: top }), details: report };
  },
});
