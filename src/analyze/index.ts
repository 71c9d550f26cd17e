export { analyzeCommand } from "./analyze-command.ts";
export { type AnalyzeOptions, AnalyzeOptionsSchema, analyzeRepo } from "./analyze-repo.ts";
export { type FormatOptions, formatAnalysis } from "./format-analysis.ts";
export { AnalyzeInputError } from "./load-project.ts";
export * from "./report-schema.ts";
