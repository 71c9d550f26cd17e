import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { BaseSequencer, type TestSpecification } from "vitest/node";

const ROOT = path.resolve(fileURLToPath(new URL(".", import.meta.url)), "../..");
/** A file not in the last measure (new since): about the median file's time. */
const UNKNOWN_MS = 1500;

/** Each test file's wall time in the last measured run, written by `bench/test-suite.bench.ts`. */
export function readDurations(file = path.join(ROOT, "test/durations.json")): Record<string, number> {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Record<string, number>;
  } catch {
    return {};
  }
}

/**
 * Longest files first, by the committed durations: with 2 workers each taking the next file, the
 * slow fault, image and end-to-end files start at once instead of last (a clean checkout has no
 * vitest cache, whose order would otherwise be by file size). Ties keep vitest's own order.
 */
export class SlowestFirst extends BaseSequencer {
  readonly #durations = readDurations();

  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const base = await super.sort(files);
    const ms = (f: TestSpecification) =>
      this.#durations[path.relative(ROOT, f.moduleId).split(path.sep).join("/")] ?? UNKNOWN_MS;
    return base
      .map((f, i) => ({ f, i, ms: ms(f) }))
      .sort((a, b) => b.ms - a.ms || a.i - b.i)
      .map((x) => x.f);
  }
}
