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
