import { PROPOSE_TOOL } from "../prime/reflect/reflect-prompt.ts";
import { REVIEW_TOOL } from "../prime/review/review-prompt.ts";
import { parseProgram } from "../shared/program.ts";
import type { ScriptTurnInput } from "../shared/scripted-model/index.ts";
import { demoProgram } from "./demo-repo.ts";

/**
 * What the scripted model "thinks" as Prime during `loom demo`: the reflection proposes the demo's
 * program.md, and the review approves only after it has been shown the rename in the diff and the new
 * test among the declarations — if verification sent it anything else, the script stops matching.
 */
export function demoPrimeScript(): ScriptTurnInput[] {
  const contract = parseProgram(demoProgram);
  return [
    {
      text: "greet is the vaguest name in the repo; propose renaming it.",
      tool: PROPOSE_TOOL,
      input: { ...contract },
      when: { lastUserTextIncludes: "# Analysis of the current main" },
    },
    {
      tool: REVIEW_TOOL,
      input: {
        approved: true,
        issues: [],
        confidence: 0.9,
        summary:
          "Renames greet to greetUser through the structural rename (banner's import follows) and adds test/greet-user.test.ts.",
      },
      when: { lastUserTextIncludes: "greetUser" },
    },
  ];
}

/** What the scripted reviewer holds against the verbose candidate of `loom demo --candidates 3`. */
export const VERBOSE_REVIEW_ISSUE =
  "test/greet-user.test.ts repeats one assertion for twelve names in twelve blocks: about a hundred lines that check nothing the first case does not";

/**
 * Prime during `loom demo --candidates 3`: the same reflection, then one review per finalist, each
 * picked by what only that candidate's diff holds. Both approve; the verbose candidate's review is
 * less confident and names its padded test, so its fitness is lower on review confidence and issues,
 * as its diff's size already makes it on size.
 */
export function demoRoundPrimeScript(): ScriptTurnInput[] {
  const [reflect] = demoPrimeScript();
  return [
    reflect as ScriptTurnInput,
    {
      tool: REVIEW_TOOL,
      input: {
        approved: true,
        issues: [VERBOSE_REVIEW_ISSUE],
        confidence: 0.6,
        summary:
          "Renames greet to greetUser through the structural rename and adds a test per name for it; correct, but the test is padded.",
      },
      when: { lastUserTextIncludes: "greetUser greets each of a dozen names" },
    },
    {
      tool: REVIEW_TOOL,
      input: {
        approved: true,
        issues: [],
        confidence: 0.9,
        summary:
          "Renames greet to greetUser through the structural rename (banner's import follows) and adds test/greet-user.test.ts.",
      },
      when: { lastUserTextIncludes: "greetUser greets by name" },
    },
  ];
}
