import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/shared/config.ts";
import { DEFAULT_LAB_IMAGE } from "../../src/supervisor/lifecycle/lab-spec.ts";
import { type ContainerRuntime, DockerRuntime, LocalRuntime } from "../../src/supervisor/runtime/index.ts";
import { detectBwrap } from "../../src/supervisor/runtime/local-sandbox.ts";
import { runStep } from "../../src/supervisor/verify/run-step.ts";
import { labImageMissing } from "../helpers/lab-image.ts";

/**
 * A verification step runs the candidate's tests, code as hostile as the Lab that wrote it: it gets
 * no network (the Supervisor's port does not answer) and, under local, no view of the host beyond
 * its clone and the toolchain.
 */

let root: string;
let server: Server;
let hits = 0;
let port: number;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "loom-verify-reach-"));
  server = createServer((_req, res) => {
    hits++;
    res.end("{}");
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((ok) => server.close(ok));
  await rm(root, { recursive: true, force: true });
});

const SCRIPT = (stateDir: string) =>
  [
    `node -e "fetch('http://127.0.0.1:PORT/rollback',{method:'POST',headers:{'content-type':'application/json'},body:'{}'}).then(r=>console.log('REACHED',r.status),e=>console.log('BLOCKED',e.cause&&e.cause.code))"`,
    "cat /etc/shadow 2>&1 | head -1",
    `ls ${stateDir} 2>&1 | head -5`,
    "echo ok > written-by-step.txt && echo WROTE",
  ].join("; ");

async function step(runtime: ContainerRuntime, name: string) {
  const stateDir = path.join(root, `state-${name}`);
  const clone = path.join(stateDir, "verify", "gen-1");
  await mkdir(clone, { recursive: true });
  // The image's user is not ours: verification shares its clones the same way.
  await chmod(clone, 0o777);
  // A record the step must not see.
  await writeFile(path.join(stateDir, "gen-1.json"), '{"outcome":"verifying"}');
  const config = loadConfig({
    cwd: root,
    env: { LOOM_REPO_PATH: path.join(root, "repo"), LOOM_STATE_DIR: stateDir, LOOM_NETWORK: "host" },
  });
  const run = await runStep(
    { runtime, config, image: DEFAULT_LAB_IMAGE, clone, packages: undefined, subject: "gen-1" },
    "test",
    SCRIPT(stateDir).replace("PORT", String(port)),
    60_000,
  );
  return run.output;
}

const bwrap = await detectBwrap();

describe.skipIf(bwrap.kind !== "bwrap" || process.platform !== "linux")("a local verification step", () => {
  it("reaches no port of the host, reads neither /etc/shadow nor the state folder, writes its clone", async () => {
    const before = hits;
    const out = await step(new LocalRuntime({ stateDir: path.join(root, "rt-local") }), "local");
    expect.soft(out).toContain("BLOCKED");
    expect.soft(out).not.toContain("REACHED");
    expect.soft(hits - before).toBe(0);
    expect.soft(out).toMatch(/shadow: No such file/);
    expect.soft(out).not.toContain("gen-1.json");
    expect(out).toContain("WROTE");
  }, 60_000);
});

const missing = await labImageMissing("verification containment test (docker)");

describe.skipIf(missing !== undefined)("a docker verification step", () => {
  it("reaches no port of the host", async () => {
    const before = hits;
    const out = await step(new DockerRuntime({}), "docker");
    expect.soft(out).toContain("BLOCKED");
    expect.soft(out).not.toContain("REACHED");
    expect.soft(hits - before).toBe(0);
    expect(out).toContain("WROTE");
  }, 60_000);
});
