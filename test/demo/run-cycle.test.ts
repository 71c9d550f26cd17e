import { stat } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runDemoCycle } from "../../src/demo/run-cycle.ts";

describe("runDemoCycle when Prime's loop stops before it spawns", () => {
  it("says so with the stop reason instead of failing on a missing record, and removes its scratch folder", async () => {
    const lines: string[] = [];
    const err = await runDemoCycle({
      log: (l) => lines.push(l),
      // Reflect answers without proposing a program: the loop stops before spawning.
      primeScript: [{ text: "I have no plan." }, { text: "Still none." }, { text: "None." }],
      env: { LOOM_RUNTIME: "local" },
    }).then(
      () => undefined,
      (e: unknown) => e as { code?: string; message: string },
    );
    expect(err?.code, lines.join("\n")).toBe("DEMO_NO_GENERATION");
    expect(err?.message).toMatch(
      /^Prime's loop stopped \(\w+\) before it spawned generation 1; its last lines above say why$/,
    );
    const repo = lines.map((l) => /^scratch repository: (\S+)$/.exec(l)?.[1]).find(Boolean);
    expect(repo).toBeDefined();
    await expect(stat(path.dirname(repo as string))).rejects.toThrow(/ENOENT/);
  }, 120_000);
});
