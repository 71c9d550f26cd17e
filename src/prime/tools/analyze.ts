import { z } from "zod";
import { lazyTool } from "../../agent/tool.ts";

/** Prime's read tool on the repository; the analysis (ts-morph) loads on its first call. */
export const analyzeTool = lazyTool({
  name: "analyze",
  description:
    "Offline analysis of the repository: the largest and most complex declarations, exported API, import graph and cycles, which tests import which sources, unused exports.",
  input: z.strictObject({
    top: z.number().int().min(1).max(200).default(10).describe("length of each top-N list"),
  }),
  effect: "read",
  timeoutMs: 5 * 60_000,
  roles: ["prime"],
  load: async () => {
    const [{ analyzeRepo }, { formatAnalysis }] = await Promise.all([
      import("../../analyze/analyze-repo.ts"),
      import("../../analyze/format-analysis.ts"),
    ]);
    return async ({ top }, { workspace }) => {
      const report = await analyzeRepo(workspace, { top });
      return { content: formatAnalysis(report, { maxItems: top }), details: report };
    };
  },
});
