import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hashStage, planStage, writeStage } from "../../../lab-runtime/image/stage-files.ts";

let root: string;

async function put(rel: string, text = rel, mode = 0o644): Promise<void> {
  const file = path.join(root, rel);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, text);
  await fs.chmod(file, mode);
}

const lock = {
  lockfileVersion: 3,
  packages: {
    "": { name: "x" },
    "node_modules/prod": { version: "1.0.0" },
    "node_modules/prod/node_modules/nested": { version: "2.0.0" },
    "node_modules/devonly": { version: "1.0.0", dev: true },
    "node_modules/devopt": { version: "1.0.0", devOptional: true },
    "node_modules/@esbuild/other-os": { version: "1.0.0", optional: true },
  },
};

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), "loom-stage-"));
  await put("package.json", '{"type":"module"}');
  await put("package-lock.json", JSON.stringify(lock));
  await put("node_modules/prod/index.js");
  await put("node_modules/prod/bin/tool", "#!/bin/sh\n", 0o755);
  await put("node_modules/prod/node_modules/nested/index.js");
  await put("node_modules/devonly/index.js");
  await put("node_modules/devopt/index.js");
  await put("bin/loom.js");
  await put("src/cli/main.ts");
  await put("lab-runtime/server.ts");
  await put("lab-runtime/image/build-lab-image.ts");
  await put("lab-runtime/Containerfile");
});

afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

const paths = (plan: { files: { to: string }[] }) => plan.files.map((f) => f.to);

describe("planStage", () => {
  it("stages the sources and exactly the lockfile's production packages when there is no bundle", async () => {
    const plan = await planStage(root, "auto");
    expect(plan.mode).toBe("source");
    expect(plan.entry).toBe("bin/loom.js");
    expect(paths(plan)).toEqual([
      "bin/loom.js",
      "lab-runtime/server.ts",
      "node_modules/prod/bin/tool",
      "node_modules/prod/index.js",
      "node_modules/prod/node_modules/nested/index.js",
      "package.json",
      "src/cli/main.ts",
    ]);
  });

  it("stages only the Lab's bundle from dist/ when one is built", async () => {
    for (const f of [
      "lab.mjs",
      "lab.mjs.map",
      "lab.meta.json",
      "prime.mjs",
      "prime.mjs.map",
      "supervisor.mjs",
    ]) {
      await put(`dist/${f}`);
    }
    await put("dist/assets/prompt.md");
    const plan = await planStage(root, "auto");
    expect(plan.mode).toBe("bundle");
    expect(plan.entry).toBe("dist/lab.mjs");
    expect(paths(plan).filter((p) => p.startsWith("dist/"))).toEqual([
      "dist/assets/prompt.md",
      "dist/lab.mjs",
      "dist/lab.mjs.map",
    ]);
    expect(paths(plan)).not.toContain("src/cli/main.ts");
    expect((await planStage(root, "source")).entry).toBe("bin/loom.js");
  });

  it("refuses --entry bundle without dist/lab.mjs, naming npm run build", async () => {
    await expect(planStage(root, "bundle")).rejects.toThrow(/dist\/lab\.mjs.*npm run build/);
  });

  it("names production packages that are not installed and says to run npm ci", async () => {
    await fs.rm(path.join(root, "node_modules/prod/node_modules"), { recursive: true });
    await expect(planStage(root, "auto")).rejects.toMatchObject({
      code: "DEPENDENCIES_MISSING",
      message: expect.stringMatching(/node_modules\/prod\/node_modules\/nested.*npm ci/),
    });
  });

  it("says the lockfile is missing or too old", async () => {
    await put("package-lock.json", JSON.stringify({ lockfileVersion: 1, dependencies: {} }));
    await expect(planStage(root, "auto")).rejects.toMatchObject({ code: "LOCKFILE_UNSUPPORTED" });
    await fs.rm(path.join(root, "package-lock.json"));
    await expect(planStage(root, "auto")).rejects.toMatchObject({ code: "LOCKFILE_MISSING" });
  });
});

describe("hashStage and writeStage", () => {
  it("hash changes with content and exec bit, not with unrelated files", async () => {
    const first = await hashStage(await planStage(root, "auto"));
    await put("node_modules/devonly/index.js", "changed");
    await put("README.md", "not staged");
    expect(await hashStage(await planStage(root, "auto"))).toBe(first);
    await put("src/cli/main.ts", "changed");
    const second = await hashStage(await planStage(root, "auto"));
    expect(second).not.toBe(first);
    await fs.chmod(path.join(root, "src/cli/main.ts"), 0o755);
    expect(await hashStage(await planStage(root, "auto"))).not.toBe(second);
  });

  it("copies files with readable modes, keeps exec bits and symlinks", async () => {
    await fs.symlink("index.js", path.join(root, "node_modules/prod/alias.js"));
    await fs.chmod(path.join(root, "src/cli/main.ts"), 0o600);
    const out = path.join(root, "out");
    await writeStage(await planStage(root, "auto"), out);
    expect(await fs.readlink(path.join(out, "deps/node_modules/prod/alias.js"))).toBe("index.js");
    expect((await fs.stat(path.join(out, "deps/node_modules/prod/bin/tool"))).mode & 0o777).toBe(0o755);
    expect((await fs.stat(path.join(out, "app/src/cli/main.ts"))).mode & 0o777).toBe(0o644);
    expect(await fs.readFile(path.join(out, "app/src/cli/main.ts"), "utf8")).toBe("src/cli/main.ts");
    // The private source stays private: the stage got a copy, not a link to it.
    expect((await fs.stat(path.join(root, "src/cli/main.ts"))).mode & 0o777).toBe(0o600);
    expect(await fs.readlink(path.join(out, "app/entry.mjs"))).toBe("/opt/loom/bin/loom.js");
    await expect(fs.stat(path.join(out, "deps/node_modules/devonly"))).rejects.toThrow();
    await expect(fs.stat(path.join(out, "app/node_modules"))).rejects.toThrow();
  });
});
