import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/shared/config.ts";
import { LabClaim } from "../../../src/shared/lab-claim.ts";
import {
  labClaimOf,
  labSpec,
  POOL_LABEL,
  repoLabels,
  standbyLabSpec,
} from "../../../src/supervisor/lifecycle/lab-spec.ts";

const config = loadConfig({
  cwd: "/tmp",
  env: {
    LOOM_REPO_PATH: "/srv/repo",
    LOOM_STATE_DIR: "/srv/state",
    LOOM_LAB_API_KEY: "lab-key",
    ANTHROPIC_API_KEY: "prime-key",
  },
});
const common = {
  runtime: "docker" as const,
  workspace: "/srv/state/lab-pool/0a1b2c3d",
  config,
  image: "loom-lab:latest",
  loomRoot: "/opt/loom",
  packages: "/srv/repo/node_modules",
  sockets: "/tmp/loom-0-abcdef/s",
};

describe("a pooled Lab's spec and claim", () => {
  it("is a Lab's own spec (image, mounts, limits, no network, no privileges) but for its command, labels and name", () => {
    const cold = labSpec({ ...common, generation: 1, port: 1 });
    const standby = standbyLabSpec({ ...common, slot: "0a1b2c3d" });
    const { command, labels, name, ...rest } = standby.spec;
    const { command: _c, labels: _l, name: _n, ...coldRest } = cold.spec;
    expect(rest).toEqual(coldRest);
    expect(rest).toMatchObject({ network: "none", noNewPrivileges: true, image: "loom-lab:latest" });
    expect(standby.host).toEqual(cold.host);
    expect(command).toEqual(["lab-standby", "--socket", "/run/loom/standby.sock"]);
    expect(labels).toEqual({ ...repoLabels("/srv/repo"), [POOL_LABEL]: "0a1b2c3d" });
    expect(name).toMatch(/^loom-pool-0a1b2c3d-[0-9a-f]{8}$/);
  });

  it("claims with the generation's own command line and environment, which hold no secret", () => {
    const launch = labSpec({
      ...common,
      workspace: "/srv/state/workspaces/gen-9",
      generation: 9,
      port: 4100,
      config: { ...config, labModel: "candidate-model" },
    });
    const claim = labClaimOf(launch);
    expect(claim.args).toEqual(launch.spec.command);
    expect(claim.args.slice(0, 5)).toEqual(["lab", "--workspace", "/workspace", "--generation", "9"]);
    expect(claim.env).toEqual(launch.spec.env);
    expect(claim.env.LOOM_LAB_MODEL).toBe("candidate-model");
    expect(JSON.stringify(claim)).not.toContain("lab-key");
    expect(JSON.stringify(claim)).not.toContain("prime-key");
    expect(LabClaim.safeParse(claim).success).toBe(true);
  });
});
