import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

/** `npm run image -- --push [REGISTRY]`: bad values are refused with exit 2 before anything is built. */

const SCRIPT = fileURLToPath(new URL("../../../scripts/build-image.ts", import.meta.url));

async function image(args: string[], env: Record<string, string> = {}) {
  const result = await execa(process.execPath, ["--import", "tsx", SCRIPT, ...args], {
    reject: false,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    extendEnv: false,
    timeout: 60_000,
    stdin: "ignore",
  });
  return { code: result.exitCode, stdout: result.stdout, stderr: result.stderr };
}

describe("npm run image -- --push", () => {
  it.each(["http://127.0.0.1:5000", "127.0.0.1:5000/loom-lab", "127.0.0.1:0", "bad host:5000"])(
    "refuses --push %j naming the flag and what it takes",
    async (value) => {
      const r = await image(["--push", value]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(
        `--push takes a registry address HOST:PORT or HOST without scheme or path, e.g. 127.0.0.1:5000 (got "${value}")`,
      );
      expect(r.stderr).not.toContain("phase");
    },
  );

  it.each([
    [
      { LOOM_REGISTRY_PORT: "99999" },
      'LOOM_REGISTRY_PORT="99999" is not valid: expected a whole number from 1 to 65535',
    ],
    [
      { LOOM_REGISTRY: "https://127.0.0.1:5000" },
      'LOOM_REGISTRY="https://127.0.0.1:5000" is not valid: expected a registry address',
    ],
  ])("refuses a bad %j before building (exit 2)", async (env, message) => {
    const r = await image(["--push"], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`image: --push: ${message}`);
    expect(r.stderr).not.toContain("phase");
  });

  it("lists --push in --help with where it pushes and records", async () => {
    const r = await image(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--push \[registry\][\s\S]*LOOM_REGISTRY_PORT[\s\S]*pushed\.json/);
  });
});
