import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalRuntime } from "../../../src/supervisor/runtime/local.ts";
import { detectBwrap } from "../../../src/supervisor/runtime/local-sandbox.ts";
import { defaultHostView } from "../../../src/supervisor/runtime/local-view.ts";

/** What a contained local process sees of a Loom installation: its code, none of its credentials. */

let dir: string;
let loomRoot: string;
let stateDir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "loom-view-"));
  loomRoot = path.join(dir, "loom");
  stateDir = path.join(loomRoot, ".loom");
  await fs.mkdir(path.join(loomRoot, "src"), { recursive: true });
  await fs.mkdir(path.join(loomRoot, ".git"), { recursive: true });
  await fs.mkdir(stateDir, { recursive: true });
  await fs.writeFile(path.join(loomRoot, "src", "code.ts"), "export const code = 1;\n");
  await fs.writeFile(path.join(loomRoot, ".env"), "ANTHROPIC_API_KEY=sk-in-dotenv\n");
  await fs.writeFile(path.join(loomRoot, ".env.local"), "X=sk-in-dotenv-local\n");
  await fs.writeFile(path.join(loomRoot, ".npmrc"), "//registry/:_authToken=npm-token\n");
  await fs.writeFile(path.join(loomRoot, ".git", "config"), "extraheader = AUTHORIZATION: basic ci-token\n");
  await fs.writeFile(path.join(stateDir, "gen-1.json"), '{"outcome":"running"}\n');
});
afterAll(async () => {
  const rt = new LocalRuntime({ stateDir });
  for (const c of await rt.list({})) await rt.remove(c.id);
  await fs.rm(dir, { recursive: true, force: true });
});

const bwrap = await detectBwrap();

describe.skipIf(bwrap.kind !== "bwrap")("the contained local view", () => {
  it("shows the installation's code but not its .env files, .npmrc, .git or state folder", async () => {
    const view = defaultHostView(stateDir, loomRoot);
    const rt = new LocalRuntime({ stateDir, view });
    const workspace = path.join(dir, "ws");
    await fs.mkdir(workspace);
    const h = await rt.runOnHost(
      {
        image: "host",
        network: "none",
        workdir: "/w",
        command: [
          "sh",
          "-c",
          `cat ${loomRoot}/src/code.ts; cd ${loomRoot}; cat .env .env.local .npmrc .git/config .loom/gen-1.json 2>&1; true`,
        ],
      },
      { mounts: [{ host: workspace, container: "/w" }] },
    );
    expect(await rt.wait(h.id, { timeoutMs: 10_000 })).toEqual({ kind: "exited", exitCode: 0 });
    const out = await rt.logs(h.id);
    await rt.remove(h.id);
    expect(out).toContain("export const code = 1;");
    for (const secret of ["sk-in-dotenv", "npm-token", "ci-token", '"outcome"'])
      expect(out).not.toContain(secret);
  });
});
