import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectRuntime } from "../../src/supervisor/runtime/index.ts";

/** Without a working bubblewrap, the Supervisor's log says once, at start-up, what is not contained. */

let stateDir: string;
beforeAll(async () => {
  stateDir = await mkdtemp(path.join(tmpdir(), "loom-uncontained-"));
});
afterAll(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

describe.skipIf(process.platform === "win32")("the local runtime without bubblewrap", () => {
  it("logs one line at selection naming network, filesystem, processes and secrets; a run adds nothing to it", async () => {
    const log: string[] = [];
    const runtime = await selectRuntime("local", {
      log: (line) => log.push(line),
      stateDir,
      binaries: { bwrap: "/bin/false" },
    });
    expect(log).toHaveLength(1);
    const [line] = log as [string];
    expect(line).toMatch(/^runtime: local \(LOOM_RUNTIME\) — local runtime: NOT CONTAINED/);
    for (const part of ["network:", "filesystem:", "processes:", "secrets:"]) expect(line).toContain(part);
    const h = await runtime.run({ image: "host", command: ["true"], network: "none" });
    // The run's own caveats go to that generation's log (its handle), not the start-up line again.
    expect(h.warnings).toContain(
      "network none not enforced without bubblewrap: the process shares the host network",
    );
    await runtime.wait(h.id, { timeoutMs: 10_000 });
    await runtime.remove(h.id);
    expect(log).toHaveLength(1);
  });
});
