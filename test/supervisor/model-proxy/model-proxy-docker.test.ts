import { chmod, mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_LAB_IMAGE } from "../../../src/supervisor/lifecycle/lab-spec.ts";
import { labImageMissing } from "../../helpers/lab-image.ts";
import { type ProxyRig, proxyRig, REAL_KEY } from "./proxy-fixture.ts";

const missing = await labImageMissing("model proxy docker test");
const here = path.dirname(fileURLToPath(import.meta.url));
const LABEL = "loom.test=model-proxy";

const rigs: ProxyRig[] = [];
const names: string[] = [];
afterEach(async () => {
  if (names.length > 0) await execa("docker", ["rm", "-f", ...names.splice(0)], { reject: false });
  await Promise.all(rigs.splice(0).map((r) => r.close()));
});

/** The Lab's model call bundled for the image's node (the SDK included), in a folder to mount. */
async function bundle(dir: string): Promise<string> {
  const outdir = path.join(dir, "drv");
  await build({
    entryPoints: [path.join(here, "fixtures", "lab-model-call.ts")],
    outfile: path.join(outdir, "lab-model-call.mjs"),
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "silent",
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
  });
  await chmod(outdir, 0o755);
  return outdir;
}

async function runInLab(r: ProxyRig, socketDir: string, drv: string, generation: number, token: string) {
  const name = `loom-model-proxy-test-${process.pid}-${generation}`;
  names.push(name);
  const result = await execa(
    "docker",
    [
      "run",
      "--rm",
      "--name",
      name,
      "--label",
      LABEL,
      "--network",
      "none",
      "-v",
      `${socketDir}:/run/loom`,
      "-v",
      `${drv}:/drv:ro`,
      "-e",
      "LOOM_LAB_MODEL_SOCKET=/run/loom/model.sock",
      "-e",
      `LOOM_LAB_API_KEY=${token}`,
      "-e",
      "LOOM_MAX_RETRIES=0",
      "-e",
      `DIRECT_URL=${r.model.url}/v1/models`,
      "--entrypoint",
      "node",
      DEFAULT_LAB_IMAGE,
      "/drv/lab-model-call.mjs",
    ],
    { reject: false, timeout: 60_000, stdin: "ignore" },
  );
  expect(result.exitCode, result.stderr).toBe(0);
  return JSON.parse(result.stdout.trim().split("\n").at(-1)!) as {
    text?: string;
    error?: string;
    direct: string;
  };
}

describe.skipIf(missing !== undefined)("model proxy: a Lab without network (docker, loom-lab:latest)", () => {
  it("reaches its model only through the mounted socket, as the image's user, with the token as its key", async () => {
    const r = await proxyRig([{ text: "hello, contained Lab" }]);
    rigs.push(r);
    const drv = await bundle(r.dir);
    const socketDir = path.join(r.dir, "sock");
    await mkdir(socketDir, { recursive: true });
    await chmod(socketDir, 0o777);
    // The image's user (uid 10001) is not the Supervisor's: the socket must be open to it.
    const { token } = await r.proxy.open({
      generation: 31,
      socketPath: path.join(socketDir, "model.sock"),
      budgetTokens: 0,
      socketMode: 0o666,
    });
    const seen = await runInLab(r, socketDir, drv, 31, token);
    expect(seen.text).toBe("hello, contained Lab");
    expect(seen.direct).toMatch(/^unreachable/);
    expect(r.model.requests).toHaveLength(1);
    expect(r.model.requests[0]!.headers["x-api-key"]).toBe(REAL_KEY);
    expect(r.proxy.usage(31)?.requests).toBe(1);
  }, 90_000);

  it("a socket left at 0600 is closed to the image's user (why the Supervisor opens it 0666 in a private folder)", async () => {
    const r = await proxyRig([{ text: "unused" }]);
    rigs.push(r);
    const drv = await bundle(r.dir);
    const socketDir = path.join(r.dir, "sock");
    await mkdir(socketDir, { recursive: true });
    await chmod(socketDir, 0o777);
    const { token } = await r.proxy.open({
      generation: 32,
      socketPath: path.join(socketDir, "model.sock"),
      budgetTokens: 0,
    });
    const seen = await runInLab(r, socketDir, drv, 32, token);
    expect(seen.error).toBe("MODEL_UNREACHABLE");
    expect(r.model.requests).toHaveLength(0);
  }, 90_000);
});
