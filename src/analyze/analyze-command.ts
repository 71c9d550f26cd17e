import { type AnalyzeOptions, analyzeRepo } from "./analyze-repo.ts";
import { formatAnalysis } from "./format-analysis.ts";

/** What `loom analyze [dir] [--json]` prints: the bounded text report, or the full report as JSON. */
export async function analyzeCommand(
  dir: string,
  opts: AnalyzeOptions & { json?: boolean } = {},
): Promise<string> {
  const { json, ...rest } = opts;
  const report = await analyzeRepo(dir, rest);
  return json ? `${JSON.stringify(report, null, 2)}\n` : formatAnalysis(report);
}
