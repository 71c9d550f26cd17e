import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/shared/config.ts";
import { LocalRuntime } from "../../../src/supervisor/runtime/index.ts";
import { stepSpec, VERIFY_LIMITS } from "../../../src/supervisor/verify/run-step.ts";

describe("stepSpec", () => {
  const config = loadConfig({
    cwd: "/tmp",
    env: { LOOM_REPO_PATH: "/tmp/repo", LOOM_STATE_DIR: "/tmp/state" },
  });
  const base = {
    runtime: new LocalRuntime({ stateDir: "/tmp/state" }),
    config,
    image: "loom-lab:latest",
    clone: "/tmp/state/verify/gen-1",
    packages: undefined,
    subject: "gen-1",
  };

  it("work done ahead of time (a baseline while a Lab works) asks for background priority; a verification does not", () => {
    expect(stepSpec({ ...base, priority: "background" }, "baseline", "npm test").spec.limits).toEqual({
      ...VERIFY_LIMITS,
      priority: "background",
    });
    expect(stepSpec(base, "test", "npm test").spec.limits).toEqual({ ...VERIFY_LIMITS });
  });

  it("runs the candidate's code without network; only the install step has one, and runs no install scripts", () => {
    for (const step of ["check", "test", "acceptance", "baseline"]) {
      const { spec } = stepSpec(base, step, "npm test");
      expect(spec.network).toBe("none");
      expect(spec.env).not.toHaveProperty("npm_config_ignore_scripts");
    }
    const install = stepSpec(base, "install", "npm ci").spec;
    expect(install.network).toBe("host");
    expect(install.env).toMatchObject({ npm_config_ignore_scripts: "true" });
  });

  it("mounts the clone (and the packages, read-only) on the host; behind the gateway it names nothing of the host", () => {
    const mounted = stepSpec({ ...base, packages: "/tmp/repo/node_modules" }, "test", "npm test");
    expect(mounted.host?.mounts).toEqual([
      { host: base.clone, container: "/verify", readOnly: false },
      { host: "/tmp/repo/node_modules", container: "/verify-packages/node_modules", readOnly: true },
    ]);
    const relay = { url: "http://127.0.0.1:9", token: "a".repeat(64) };
    const relayed = stepSpec({ ...base, packages: "/tmp/repo/node_modules" }, "test", "npm test", relay);
    expect(relayed.host).toBeUndefined();
    expect(relayed.spec.relay).toEqual(relay);
    expect(JSON.stringify(relayed.spec)).not.toContain("/tmp/");
  });
});
