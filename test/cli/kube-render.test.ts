import { Job } from "kubernetes-models/batch/v1/Job";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { describe, expect, it } from "vitest";
import { repoLabels } from "../../src/supervisor/lifecycle/lab-spec.ts";
import { loom } from "../helpers/cli.ts";

const PARENT = "a".repeat(40);
const IMAGE = `127.0.0.1:5000/loom-lab@sha256:${"c".repeat(64)}`;
const base = (image = IMAGE, address = "10.0.0.5") => [
  "kube",
  "render",
  "--generation",
  "3",
  "--parent",
  PARENT,
  "--image",
  image,
  "--supervisor-address",
  address,
  "--git-port",
  "8402",
  "--proxy-port",
  "8403",
];

describe("loom kube render", () => {
  it("prints the default deny, the generation's policy and its Job, schema-valid, with no key from the environment", async () => {
    const r = await loom([...base(), "--supervisor-labels", "app.kubernetes.io/name=loom-supervisor"], {
      env: {
        LOOM_REPO_PATH: "/tmp/loom-kube-cli",
        LOOM_LAB_API_KEY: "sk-should-never-appear",
        LOOM_LAB_TIMEOUT_MS: "120000",
      },
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain("sk-should-never-appear");
    const list = JSON.parse(r.stdout) as { kind: string; items: { kind: string }[] };
    expect(list.kind).toBe("List");
    expect(list.items.map((i) => i.kind)).toEqual(["NetworkPolicy", "NetworkPolicy", "Job"]);
    const [deny, policy, job] = list.items;
    new NetworkPolicy(deny as never).validate();
    new NetworkPolicy(policy as never).validate();
    const j = new Job(job as never);
    j.validate();
    const repo = repoLabels("/tmp/loom-kube-cli")["loom.repo"];
    expect(j.metadata?.labels).toEqual({ loom: "1", "loom.repo": repo, "loom.generation": "3" });
    expect(j.spec?.activeDeadlineSeconds).toBe(120);
    expect(new NetworkPolicy(policy as never).spec?.egress?.[0]?.to).toEqual([
      { podSelector: { matchLabels: { "app.kubernetes.io/name": "loom-supervisor" } } },
    ]);
  });

  it("refuses an image without a digest and a Supervisor named by DNS, naming the value", async () => {
    const tag = await loom(base("loom-lab:latest"), { env: { LOOM_REPO_PATH: "/tmp/loom-kube-cli" } });
    expect(tag.code).toBe(2);
    expect(tag.stderr).toContain(
      '--image "loom-lab:latest" is not accepted: the image must be pinned by digest',
    );
    const name = await loom(base(IMAGE, "loom-supervisor.loom.svc"), {
      env: { LOOM_REPO_PATH: "/tmp/loom-kube-cli" },
    });
    expect(name.code).toBe(2);
    expect(name.stderr).toContain(
      '--supervisor-address "loom-supervisor.loom.svc" is not accepted: the Supervisor\'s address is an IPv4 or IPv6 address, not a name',
    );
  });
});
