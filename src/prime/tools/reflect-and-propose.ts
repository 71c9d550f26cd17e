import { mkdir } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import type { ProgramContract } from "../../../schemas/program.ts";
import { defineTool } from "../../agent/tool.ts";
import { atomicWriteFile } from "../../shared/atomic-write.ts";
import type { PrimeCoreDeps, PrimeToolDeps } from "../ports.ts";

export interface Proposal {
  readonly program: string;
  readonly contract: ProgramContract;
  /** Where program.md was written: `<state>/program.md`. */
  readonly file: string;
}

/** Analyses the repo, reads the lineage, asks the reflection for the next program.md and saves it. */
export async function reflectAndPropose(
  deps: PrimeCoreDeps,
  options: { guidance?: string | undefined; signal?: AbortSignal | undefined } = {},
): Promise<Proposal> {
  const { guidance, signal } = options;
  // ts-morph loads with the analysis, when a reflection needs it, not with Prime's catalog.
  const { analyzeRepo } = await import("../../analyze/analyze-repo.ts");
  const [analysis, lineage] = await Promise.all([
    analyzeRepo(deps.repo),
    deps.client.listGenerations(signal),
  ]);
  const { program, contract } = await deps.reflect({
    model: deps.model,
    analysis,
    lineage,
    ...(guidance ? { guidance } : {}),
    ...(signal ? { signal } : {}),
  });
  await mkdir(deps.stateDir, { recursive: true });
  const file = path.join(deps.stateDir, "program.md");
  await atomicWriteFile(file, program);
  return { program, contract, file };
}

export function reflectAndProposeTool(deps: PrimeToolDeps) {
  return defineTool({
    name: "reflect_and_propose",
    description:
      "Reflect on the codebase (offline analysis: sizes, complexity, import graph, tests) and the lineage of generations (outcomes and lessons), and propose the next improvement as a program.md contract. Returns program.md and saves it to the state folder; pass it to spawn_lab to run it.",
    input: z.strictObject({
      guidance: z
        .string()
        .min(1)
        .max(4_000)
        .optional()
        .describe("a person's steer for this reflection, e.g. what area to improve"),
    }),
    effect: "self-modify",
    timeoutMs: 15 * 60_000,
    run: async ({ guidance }, { signal }) => {
      const proposal = await reflectAndPropose(deps, { guidance, signal });
      return { content: `${proposal.program}\n\n(saved to ${proposal.file})`, details: proposal };
    },
  });
}
