import { appendFile, readFile } from "node:fs/promises";
import { z } from "zod";
import { GenerationNumber, GenerationOutcome } from "../../../schemas/generation.ts";
import { formatIssues } from "../../shared/zod-issues.ts";
import { StoreError } from "./store-error.ts";

/** One state change in the append-only audit trail: `lineage.jsonl`, one JSON object per line. */
export const LineageEvent = z.strictObject({
  version: z.literal(1),
  at: z.iso.datetime(),
  generation: GenerationNumber,
  outcome: GenerationOutcome,
  reason: z.string().nullable(),
});
export type LineageEvent = z.infer<typeof LineageEvent>;

/** One appendFile call per event: O_APPEND keeps concurrent lines whole on local filesystems. */
export async function appendLineage(file: string, event: LineageEvent): Promise<void> {
  await appendFile(file, `${JSON.stringify(LineageEvent.parse(event))}\n`, "utf8");
}

/** Every event in order; a torn or invalid line is an error naming the file and line, never skipped. */
export async function readLineage(file: string): Promise<LineageEvent[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines.map((line, i) => {
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (err) {
      throw new StoreError(
        "LINEAGE_CORRUPT",
        `${file} line ${i + 1} is not valid JSON (${(err as Error).message}); ` +
          "repair or remove that line — the lineage is never read past a damaged entry",
      );
    }
    const parsed = LineageEvent.safeParse(raw);
    if (!parsed.success) {
      throw new StoreError(
        "LINEAGE_CORRUPT",
        `${file} line ${i + 1} is not a lineage event: ${formatIssues(parsed.error)}`,
      );
    }
    return parsed.data;
  });
}
