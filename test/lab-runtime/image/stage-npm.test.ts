import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { stagePath } from "../../../lab-runtime/image/stage-files.ts";
import { findHostNpm, planNpm } from "../../../lab-runtime/image/stage-npm.ts";

describe("npm in the Lab image", () => {
  it("finds the host's npm package and stages all of it below npm/, its own layer", async () => {
    const root = await findHostNpm();
    expect(JSON.parse(await readFile(path.join(root, "package.json"), "utf8")).name).toBe("npm");
    const files = await planNpm(root);
    const tos = files.map((f) => f.to);
    expect(tos).toContain("npm/bin/npm-cli.js");
    expect(tos).toContain("npm/package.json");
    expect(tos.every((t) => t.startsWith("npm/"))).toBe(true);
    expect(stagePath("npm/bin/npm-cli.js")).toBe("npm/bin/npm-cli.js");
    expect(stagePath("node_modules/x/index.js")).toBe("deps/node_modules/x/index.js");
  });

  it("refuses a folder that is not the npm package", async () => {
    await expect(planNpm("/nonexistent")).rejects.toMatchObject({ code: "NPM_MISSING" });
  });
});
