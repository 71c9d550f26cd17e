import { createHash } from "node:crypto";
import path from "node:path";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { fetchLabBranch, prepareWorkspace } from "../../../src/supervisor/git/index.ts";
import { repoLabels } from "../../../src/supervisor/lifecycle/lab-spec.ts";
import { runGeneration } from "../../../src/supervisor/lifecycle/run-generation.ts";
import { DockerRuntime } from "../../../src/supervisor/runtime/index.ts";
import { GenerationStore } from "../../../src/supervisor/store/index.ts";
import { labImageMissing } from "../../helpers/lab-image.ts";
import {
  CONTAINMENT_PROBE,
  entries,
  expectContained,
  type Fixture,
  makeFixture,
} from "../lifecycle-fixture.ts";

const missing = await labImageMissing("docker lifecycle test");

const fixtures: Fixture[] = [];
afterEach(async () => {
  await Promise.all(fixtures.splice(0).map((f) => f.cleanup()));
});

describe.skipIf(missing !== undefined)("runGeneration (docker, loom-lab:latest)", () => {
  it("runs a Lab in a container: only Lab variables inside (no key), schemas and acceptance read-only, branch fetched, container gone", async () => {
    const fx = await makeFixture(CONTAINMENT_PROBE);
    fixtures.push(fx);
    const config = fx.config({ LOOM_RUNTIME: "docker", LOOM_NETWORK: "host" });
    const store = await GenerationStore.open(config.stateDir);
    const runtime = new DockerRuntime({});
    const program = "# Task: check the container\n";
    const { generation: n } = await store.allocate({
      programHash: createHash("sha256").update(program).digest("hex"),
      parent: null,
    });
    const record = await runGeneration(
      {
        store,
        runtime,
        git: { prepareWorkspace, fetchLabBranch },
        config,
        emit: () => {},
        loomRoot: path.resolve("."),
        pollMs: 200,
      },
      { generation: n, program },
    );
    expect(record.outcome, record.reason ?? "").toBe("verifying");
    await expectContained(fx.repo, n);
    expect(await runtime.list(repoLabels(fx.repo))).toEqual([]);
    const ps = await execa("docker", ["ps", "-a", "--filter", `name=loom-gen-${n}-`, "--format", "{{.ID}}"]);
    expect(ps.stdout.trim()).toBe("");
    expect(await entries(path.join(config.stateDir, "workspaces"))).toEqual([]);
  }, 90_000);
});
