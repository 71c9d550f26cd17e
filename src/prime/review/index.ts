export { type DiffDigest, describeOmission, digestDiff, parseUnifiedDiff } from "./diff-digest.ts";
export { type ReviewOptions, reviewGeneration } from "./review-generation.ts";
export {
  buildReviewPrompt,
  DEFAULT_REVIEW_DIFF_CHARS,
  REVIEW_TOOL,
  renderDeclarations,
} from "./review-prompt.ts";
