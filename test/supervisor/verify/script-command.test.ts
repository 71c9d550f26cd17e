import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { npmCommand, scriptCommand } from "../../../src/supervisor/verify/script-command.ts";

let dir: string;
const pkg = (scripts: Record<string, string>, extra: Record<string, unknown> = {}) =>
  writeFile(
    path.join(dir, "package.json"),
    JSON.stringify({ name: "demo-pkg", version: "1.2.3", scripts, ...extra }),
  );
const sh = (command: string) => execa("sh", ["-c", command], { cwd: dir, reject: false });

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "loom-script-"));
  // A package binary, as npm finds it: node_modules/.bin first on PATH.
  await mkdir(path.join(dir, "node_modules", ".bin"), { recursive: true });
  const tool = path.join(dir, "node_modules", ".bin", "loom-fake-tool");
  await writeFile(tool, '#!/bin/sh\necho "fake tool ran with $1"\n');
  await chmod(tool, 0o755);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("scriptCommand", () => {
  const probe =
    'loom-fake-tool "$npm_lifecycle_event"; echo "$npm_package_name@$npm_package_version $npm_command"; echo "$npm_lifecycle_script" | head -c 14; echo; basename "$npm_package_json"; exit 3';

  it("runs the script as npm run does — package binaries, lifecycle variables, its exit code — without npm", async () => {
    await pkg({ check: probe });
    const direct = await scriptCommand(dir, "check");
    expect(direct).not.toMatch(/\bnpm run\b/);
    const ours = await sh(direct);
    const npms = await sh("npm run --silent check");
    expect(ours.exitCode).toBe(3);
    expect(npms.exitCode).toBe(3);
    expect(ours.stdout).toBe("fake tool ran with check\ndemo-pkg@1.2.3 run\nloom-fake-tool\npackage.json");
    // The same lines as npm's own run of it.
    expect(ours.stdout).toBe(npms.stdout.trim());
  });

  it("leaves to npm what npm does more of: pre/post scripts, a missing script, an unreadable package.json", async () => {
    await pkg({ test: "echo t", pretest: "echo before" });
    expect(await scriptCommand(dir, "test")).toBe("npm test");
    await pkg({ check: "echo c", postcheck: "echo after" });
    expect(await scriptCommand(dir, "check")).toBe("npm run check");
    await pkg({ check: "echo c" });
    expect(await scriptCommand(dir, "test:acceptance")).toBe("npm run test:acceptance");
    await writeFile(path.join(dir, "package.json"), "{ not json");
    expect(await scriptCommand(dir, "check")).toBe("npm run check");
    expect(npmCommand("test")).toBe("npm test");
  });

  it("quotes scripts with quotes and dollars as data", async () => {
    await pkg({ test: `echo "it's \\$HOME-free" 'and single'` });
    const r = await sh(await scriptCommand(dir, "test"));
    expect(r.stdout).toBe("it's $HOME-free and single");
  });
});
