import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Job } from "kubernetes-models/batch/v1/Job";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { Secret } from "kubernetes-models/v1/Secret";
import { describe, expect, it } from "vitest";
import { takeLabSecrets } from "../../../src/lab/lab-secrets.ts";
import { loadConfig } from "../../../src/shared/config.ts";
import { isSecretName } from "../../../src/shared/secret-env.ts";
import {
  KubeInputError,
  type LabJobInput,
  type StepJobInput,
  type SupervisorEndpoint,
} from "../../../src/supervisor/kube/inputs.ts";
import { labJob, labSecret, stepSecret, verifyStepJob } from "../../../src/supervisor/kube/manifests.ts";
import {
  labNetworkPolicy,
  loomDefaultDeny,
  stepNetworkPolicy,
} from "../../../src/supervisor/kube/network-policies.ts";
import { LAB_LIMITS } from "../../../src/supervisor/lifecycle/lab-spec.ts";
import { VERIFY_LIMITS } from "../../../src/supervisor/verify/run-step.ts";

/**
 * The Kubernetes manifests of docs/kubernetes.md: every one is checked against the API's published
 * schema (kubernetes-models' validators), and the fields that make the design safe are asserted one by
 * one, since the schema types fields but does not judge them.
 */

// The API server's own rules, written out here rather than taken from the code under test.
const K8S_LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const K8S_LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const REPO = "0123456789abcdef";
const PARENT = "a".repeat(40);
const COMMIT = "b".repeat(40);
const DIGEST = `127.0.0.1:5000/loom-lab@sha256:${"c".repeat(64)}`;
const OUTSIDE: SupervisorEndpoint = {
  address: "10.1.2.3",
  gitPort: 8402,
  proxyPort: 8403,
  gitPath: "/loom.git",
};
const IN_CLUSTER: SupervisorEndpoint = {
  ...OUTSIDE,
  address: "10.96.0.20",
  inCluster: { podLabels: { "app.kubernetes.io/name": "loom-supervisor" }, namespace: "loom-system" },
};
const TOKENS = {
  apiKey: `loom-proxy-7-${"d".repeat(48)}`,
  labToken: "e".repeat(48),
  gitToken: "Zm9vYmFyYmF6cXV4cXV1eA_-",
};

const lab = (over: Partial<LabJobInput> = {}): LabJobInput => ({
  repo: REPO,
  generation: 7,
  parent: PARENT,
  image: DIGEST,
  supervisor: OUTSIDE,
  timeoutMs: 300_000,
  env: { LOOM_LAB_MODEL: "claude-test", LOOM_MAX_ITERATIONS: "40" },
  ...over,
});
const step = (over: Partial<StepJobInput> = {}): StepJobInput => ({
  repo: REPO,
  subject: "gen-7",
  step: "full_tests",
  run: "r1",
  ref: "lab/gen-7",
  commit: COMMIT,
  image: DIGEST,
  supervisor: OUTSIDE,
  script: "npm test",
  timeoutMs: 1_200_000,
  ...over,
});

/** Runs the published schema's validator; returns its complaint, or undefined when the object passes. */
function schemaError(make: () => { validate(): void }): string | undefined {
  try {
    make().validate();
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

type AnyJob = ReturnType<typeof labJob>;
const podOf = (job: AnyJob) => job.spec?.template.spec;
const containersOf = (job: AnyJob) => [
  ...(podOf(job)?.initContainers ?? []),
  ...(podOf(job)?.containers ?? []),
];

/** Whether a label selector's matchLabels select a pod with these labels. */
const selects = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);

function expectLabelsValid(labels: Record<string, string> | undefined) {
  expect(labels).toBeDefined();
  for (const [key, value] of Object.entries(labels ?? {})) {
    expect(key.split("/").pop()).toMatch(K8S_LABEL_NAME);
    expect(value.length).toBeLessThanOrEqual(63);
    expect(value).toMatch(K8S_LABEL_VALUE);
  }
}

describe("the published schema accepts every manifest", () => {
  const cases: [string, () => { validate(): void }][] = [
    ["lab Job", () => new Job(labJob(lab()))],
    [
      "lab Job, Supervisor in the cluster over IPv6",
      () => new Job(labJob(lab({ supervisor: { ...IN_CLUSTER, address: "fd00::20" } }))),
    ],
    ["step Job", () => new Job(verifyStepJob(step()))],
    ["baseline step Job", () => new Job(verifyStepJob(step({ subject: `base-${COMMIT}`, ref: "main" })))],
    ["lab Secret", () => new Secret(labSecret({ repo: REPO, generation: 7, ...TOKENS }))],
    [
      "step Secret",
      () =>
        new Secret(
          stepSecret({ repo: REPO, subject: "gen-7", step: "check", run: "r1", gitToken: TOKENS.gitToken }),
        ),
    ],
    [
      "lab NetworkPolicy",
      () => new NetworkPolicy(labNetworkPolicy({ repo: REPO, generation: 7, supervisor: OUTSIDE })),
    ],
    [
      "lab NetworkPolicy in the cluster",
      () => new NetworkPolicy(labNetworkPolicy({ repo: REPO, generation: 7, supervisor: IN_CLUSTER })),
    ],
    ...(["clone", "sealed"] as const).map((phase): [string, () => { validate(): void }] => [
      `step NetworkPolicy (${phase})`,
      () =>
        new NetworkPolicy(
          stepNetworkPolicy({
            repo: REPO,
            subject: "gen-7",
            step: "check",
            run: "r1",
            supervisor: OUTSIDE,
            phase,
          }),
        ),
    ]),
    [
      "install step NetworkPolicy",
      () =>
        new NetworkPolicy(
          stepNetworkPolicy({
            repo: REPO,
            subject: "gen-7",
            step: "install",
            run: "r1",
            supervisor: OUTSIDE,
            phase: "sealed",
            packagePort: 8404,
          }),
        ),
    ],
    ["default deny", () => new NetworkPolicy(loomDefaultDeny({ repo: REPO }))],
  ];
  it.each(cases)("%s", (_name, make) => {
    expect(schemaError(make)).toBeUndefined();
  });

  it("and the check bites: a manifest broken after rendering is refused by the schema", () => {
    const noContainers = labJob(lab()) as unknown as {
      spec: { template: { spec: { containers?: unknown } } };
    };
    delete noContainers.spec.template.spec.containers;
    expect(schemaError(() => new Job(noContainers as never))).toMatch(
      /required property 'containers'|containers/,
    );

    const badQuantity = verifyStepJob(step());
    const c = badQuantity.spec?.template.spec?.containers[0];
    if (c?.resources?.limits) c.resources.limits.memory = "four gigs";
    expect(schemaError(() => new Job(badQuantity))).toMatch(/quantity/);

    const badDeadline = labJob(lab()) as unknown as { spec: { activeDeadlineSeconds: unknown } };
    badDeadline.spec.activeDeadlineSeconds = "300";
    expect(schemaError(() => new Job(badDeadline as never))).toMatch(/activeDeadlineSeconds must be integer/);

    const badProtocol = labNetworkPolicy({ repo: REPO, generation: 7, supervisor: OUTSIDE }) as unknown as {
      spec: { egress: { ports: { protocol: string }[] }[] };
    };
    (badProtocol.spec.egress[0]?.ports[0] ?? { protocol: "" }).protocol = "ICMP";
    expect(schemaError(() => new NetworkPolicy(badProtocol as never))).toMatch(/protocol/);
  });
});

describe("labJob", () => {
  const job = labJob(lab());
  const pod = podOf(job);

  it("runs once, for LOOM_LAB_TIMEOUT_MS at most, and is deleted after the TTL", () => {
    expect(job.spec?.backoffLimit).toBe(0);
    expect(pod?.restartPolicy).toBe("Never");
    expect(job.spec?.activeDeadlineSeconds).toBe(300);
    expect(labJob(lab({ timeoutMs: 90_500 })).spec?.activeDeadlineSeconds).toBe(91);
    expect(job.spec?.ttlSecondsAfterFinished).toBe(600);
    expect(labJob(lab({ ttlSeconds: 30 })).spec?.ttlSecondsAfterFinished).toBe(30);
    expect(job.spec?.completions).toBe(1);
    expect(job.spec?.parallelism).toBe(1);
  });

  it("carries the reaping labels on the Job and its pod, all valid label values", () => {
    const labels = { loom: "1", "loom.repo": REPO, "loom.generation": "7" };
    expect(job.metadata?.labels).toEqual(labels);
    expect(job.spec?.template.metadata?.labels).toEqual(labels);
    expectLabelsValid(job.metadata?.labels);
    expect(job.metadata?.name).toBe("loom-gen-7-01234567");
    expect(job.metadata?.namespace).toBe("loom");
  });

  it("runs every container as uid 10001 without privileges, capabilities or a writable root", () => {
    expect(pod?.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001 });
    expect(pod?.securityContext?.seccompProfile?.type).toBe("RuntimeDefault");
    expect(pod?.automountServiceAccountToken).toBe(false);
    expect(pod?.hostNetwork ?? false).toBe(false);
    expect(pod?.hostPID ?? false).toBe(false);
    expect(pod?.hostIPC ?? false).toBe(false);
    expect(containersOf(job).map((c) => c.name)).toEqual(["clone", "lab"]);
    for (const c of containersOf(job)) {
      expect(c.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 10001,
        allowPrivilegeEscalation: false,
        privileged: false,
        readOnlyRootFilesystem: true,
      });
      expect(c.securityContext?.capabilities?.drop).toEqual(["ALL"]);
      expect(c.securityContext?.capabilities?.add).toBeUndefined();
      expect(c.image).toBe(DIGEST);
    }
  });

  it("asks for and is limited to LAB_LIMITS", () => {
    const lab = pod?.containers.find((c) => c.name === "lab");
    const amounts = { cpu: String(LAB_LIMITS.cpus), memory: `${LAB_LIMITS.memoryMb}Mi` };
    expect(lab?.resources).toEqual({ requests: amounts, limits: amounts });
  });

  it("mounts the Secret in the init container only, and hands the Lab copies in a memory folder", () => {
    const secretVolume = pod?.volumes?.find((v) => v.secret);
    expect(secretVolume?.secret?.secretName).toBe(job.metadata?.name);
    const mounting = containersOf(job).filter((c) =>
      c.volumeMounts?.some((m) => m.name === secretVolume?.name),
    );
    expect(mounting.map((c) => c.name)).toEqual(["clone"]);
    expect(pod?.volumes?.find((v) => v.name === "run")?.emptyDir?.medium).toBe("Memory");
    const labC = pod?.containers[0];
    expect(labC?.args).toEqual(expect.arrayContaining(["--secrets", "/run/loom/secrets.json", "--exit"]));
    const script = pod?.initContainers?.[0]?.command?.join(" ") ?? "";
    expect(script).toContain("cp /run/loom-secret/secrets.json /run/loom/secrets.json");
  });

  it("puts no secret in any container's environment or arguments", () => {
    const text = JSON.stringify(job);
    for (const token of Object.values(TOKENS)) expect(text).not.toContain(token);
    for (const c of containersOf(job)) {
      for (const e of c.env ?? []) expect(isSecretName(e.name), e.name).toBe(false);
    }
    expect(() => labJob(lab({ env: { LOOM_LAB_API_KEY: "sk-x" } }))).toThrow(
      /env\.LOOM_LAB_API_KEY: LOOM_LAB_API_KEY looks like a secret; secrets travel in the generation's Secret/,
    );
  });

  it("points the Lab at the Supervisor's proxy and git endpoint by address", () => {
    const env = Object.fromEntries((pod?.containers[0]?.env ?? []).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({
      LOOM_LAB_API_BASE: "http://10.1.2.3:8403",
      LOOM_GIT_URL: "http://10.1.2.3:8402/loom.git",
      LOOM_BIND_HOST: "0.0.0.0",
      LOOM_LAB_MODEL: "claude-test",
      HOME: "/tmp",
    });
    const v6 = labJob(lab({ supervisor: { ...OUTSIDE, address: "fd00::20" } }));
    expect(JSON.stringify(v6)).toContain("http://[fd00::20]:8402/loom.git");
    expect(() => labJob(lab({ env: { LOOM_GIT_URL: "http://elsewhere" } }))).toThrow(
      /LOOM_GIT_URL is set by the renderer/,
    );
  });

  it("keeps schemas/ and acceptance/ read-only for the Lab, as the docker runtime does", () => {
    const mounts = pod?.containers[0]?.volumeMounts ?? [];
    expect(mounts.find((m) => m.mountPath === "/workspace/schemas")).toMatchObject({
      subPath: "schemas",
      readOnly: true,
    });
    expect(mounts.find((m) => m.mountPath === "/workspace/acceptance")).toMatchObject({
      subPath: "acceptance",
      readOnly: true,
    });
  });
});

describe("verifyStepJob", () => {
  const job = verifyStepJob(step());
  const pod = podOf(job);

  it("runs main's script once, for LOOM_VERIFY_TIMEOUT_MS at most, with the step's labels", () => {
    expect(job.spec?.backoffLimit).toBe(0);
    expect(pod?.restartPolicy).toBe("Never");
    expect(job.spec?.activeDeadlineSeconds).toBe(1200);
    expect(job.spec?.ttlSecondsAfterFinished).toBe(600);
    expect(pod?.containers[0]?.command).toEqual(["sh", "-c", "npm test"]);
    const labels = {
      loom: "1",
      "loom.repo": REPO,
      "loom.verify": "gen-7",
      "loom.step": "full_tests",
      "loom.run": "r1",
    };
    expect(job.metadata?.labels).toEqual(labels);
    expect(job.spec?.template.metadata?.labels).toEqual(labels);
    expectLabelsValid(labels);
  });

  it("is limited to VERIFY_LIMITS and runs as the Lab does: non-root, no capabilities, read-only root", () => {
    const amounts = { cpu: String(VERIFY_LIMITS.cpus), memory: `${VERIFY_LIMITS.memoryMb}Mi` };
    expect(pod?.containers[0]?.resources).toEqual({ requests: amounts, limits: amounts });
    expect(pod?.automountServiceAccountToken).toBe(false);
    for (const c of containersOf(job)) {
      expect(c.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
      });
      expect(c.securityContext?.capabilities?.drop).toEqual(["ALL"]);
    }
    const mounting = containersOf(job).filter((c) => c.volumeMounts?.some((m) => m.name === "secret"));
    expect(mounting.map((c) => c.name)).toEqual(["clone"]);
  });

  it("names every Job within a DNS label, even for the longest subject, step and run", () => {
    const longest = verifyStepJob(
      step({ subject: `base-${"f".repeat(64)}`, step: `${"a".repeat(19)}z`, run: "zzzzzz", ref: "main" }),
    );
    const name = longest.metadata?.name ?? "";
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(DNS_LABEL);
    expectLabelsValid(longest.metadata?.labels);
    const lab = labJob(lab999());
    expect((lab.metadata?.name ?? "").length).toBeLessThanOrEqual(63);
    expect(lab.metadata?.name).toMatch(DNS_LABEL);
  });
});

const lab999 = () => lab({ generation: 999_999_999 });

describe("NetworkPolicies", () => {
  const labPolicy = labNetworkPolicy({ repo: REPO, generation: 7, supervisor: OUTSIDE });
  const labPod = podOf(labJob(lab()));
  const labPodLabels = labJob(lab()).spec?.template.metadata?.labels;
  const stepPodLabels = verifyStepJob(step()).spec?.template.metadata?.labels;

  it("a Lab's: out only to the git endpoint and the model proxy, in only from the Supervisor on the Lab's port", () => {
    expect(labPolicy.spec?.policyTypes).toEqual(["Ingress", "Egress"]);
    expect(labPolicy.spec?.egress).toEqual([
      {
        to: [{ ipBlock: { cidr: "10.1.2.3/32" } }],
        ports: [
          { protocol: "TCP", port: 8402 },
          { protocol: "TCP", port: 8403 },
        ],
      },
    ]);
    expect(labPolicy.spec?.ingress).toEqual([
      { from: [{ ipBlock: { cidr: "10.1.2.3/32" } }], ports: [{ protocol: "TCP", port: 8080 }] },
    ]);
    expect(labPod?.containers[0]?.ports?.[0]?.containerPort).toBe(8080);
  });

  it("opens no DNS anywhere: the Supervisor is named by address, and a name is refused", () => {
    const all = [
      labPolicy,
      labNetworkPolicy({ repo: REPO, generation: 7, supervisor: IN_CLUSTER }),
      stepNetworkPolicy({
        repo: REPO,
        subject: "gen-7",
        step: "check",
        run: "r1",
        supervisor: OUTSIDE,
        phase: "clone",
      }),
    ];
    for (const p of all) {
      for (const rule of p.spec?.egress ?? []) {
        for (const port of rule.ports ?? []) expect(port.port).not.toBe(53);
        expect(rule.to?.length).toBeGreaterThan(0);
      }
    }
    expect(() =>
      labNetworkPolicy({
        repo: REPO,
        generation: 7,
        supervisor: { ...OUTSIDE, address: "loom-supervisor.loom.svc" },
      }),
    ).toThrow(/supervisor\.address: the Supervisor's address is an IPv4 or IPv6 address, not a name/);
  });

  it("a Lab's in the cluster names the Supervisor's pods and namespace by label", () => {
    const p = labNetworkPolicy({ repo: REPO, generation: 7, supervisor: IN_CLUSTER });
    const peer = {
      podSelector: { matchLabels: { "app.kubernetes.io/name": "loom-supervisor" } },
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "loom-system" } },
    };
    expect(p.spec?.egress?.[0]?.to).toEqual([peer]);
    expect(p.spec?.ingress?.[0]?.from).toEqual([peer]);
    const v6 = labNetworkPolicy({
      repo: REPO,
      generation: 7,
      supervisor: { ...OUTSIDE, address: "fd00::20" },
    });
    expect(v6.spec?.egress?.[0]?.to).toEqual([{ ipBlock: { cidr: "fd00::20/128" } }]);
  });

  it("a Lab's selects its own pod and no other generation's nor any step's", () => {
    const selector = labPolicy.spec?.podSelector.matchLabels;
    expect(selects(selector, labPodLabels)).toBe(true);
    expect(selects(selector, labJob(lab({ generation: 8 })).spec?.template.metadata?.labels)).toBe(false);
    expect(selects(selector, stepPodLabels)).toBe(false);
  });

  it("a step's: git only while cloning, nothing once sealed, never any ingress", () => {
    const base = {
      repo: REPO,
      subject: "gen-7",
      step: "full_tests",
      run: "r1",
      supervisor: OUTSIDE,
    } as const;
    const cloning = stepNetworkPolicy({ ...base, phase: "clone" });
    expect(cloning.spec?.policyTypes).toEqual(["Ingress", "Egress"]);
    expect(cloning.spec?.egress).toEqual([
      { to: [{ ipBlock: { cidr: "10.1.2.3/32" } }], ports: [{ protocol: "TCP", port: 8402 }] },
    ]);
    expect(cloning.spec?.ingress).toEqual([]);
    const sealed = stepNetworkPolicy({ ...base, phase: "sealed" });
    expect(sealed.spec?.egress).toEqual([]);
    expect(sealed.spec?.ingress).toEqual([]);
    expect(sealed.metadata?.name).toBe(cloning.metadata?.name);
    expect(selects(sealed.spec?.podSelector.matchLabels, stepPodLabels)).toBe(true);
    expect(selects(sealed.spec?.podSelector.matchLabels, labPodLabels)).toBe(false);
  });

  it("the install step alone keeps the package cache's port", () => {
    const base = { repo: REPO, subject: "gen-7", run: "r1", supervisor: OUTSIDE, packagePort: 8404 } as const;
    const install = stepNetworkPolicy({ ...base, step: "install", phase: "sealed" });
    expect(install.spec?.egress).toEqual([
      { to: [{ ipBlock: { cidr: "10.1.2.3/32" } }], ports: [{ protocol: "TCP", port: 8404 }] },
    ]);
    expect(() => stepNetworkPolicy({ ...base, step: "full_tests", phase: "sealed" })).toThrow(
      /packagePort: only the install step reaches the package cache/,
    );
  });

  it("the default deny selects every Loom pod of the repo and allows nothing", () => {
    const deny = loomDefaultDeny({ repo: REPO });
    expect(deny.spec).toEqual({
      podSelector: { matchLabels: { loom: "1", "loom.repo": REPO } },
      policyTypes: ["Ingress", "Egress"],
      ingress: [],
      egress: [],
    });
    expect(selects(deny.spec?.podSelector.matchLabels, labPodLabels)).toBe(true);
    expect(selects(deny.spec?.podSelector.matchLabels, stepPodLabels)).toBe(true);
    expect(
      selects(deny.spec?.podSelector.matchLabels, { ...labPodLabels, "loom.repo": "ffffffffffffffff" }),
    ).toBe(false);
  });
});

describe("Secrets", () => {
  it("hold the Lab's secrets file as the Lab reads it, immutable; the Lab takes and deletes it", async () => {
    const secret = labSecret({ repo: REPO, generation: 7, ...TOKENS });
    expect(secret.immutable).toBe(true);
    expect(secret.metadata?.labels).toEqual({ loom: "1", "loom.repo": REPO, "loom.generation": "7" });
    expect(secret.metadata?.name).toBe(
      labJob(lab()).spec?.template.spec?.volumes?.find((v) => v.secret)?.secret?.secretName,
    );
    expect(secret.stringData?.["git-token"]).toBe(TOKENS.gitToken);
    const dir = await mkdtemp(path.join(tmpdir(), "loom-kube-secret-"));
    try {
      const file = path.join(dir, "secrets.json");
      await writeFile(file, secret.stringData?.["secrets.json"] ?? "");
      const config = await takeLabSecrets(
        loadConfig({ cwd: "/tmp", env: { LOOM_REPO_PATH: "/tmp/repo" } }),
        file,
        {},
      );
      expect(config.labApiKey).toBe(TOKENS.apiKey);
      expect(config.labToken).toBe(TOKENS.labToken);
      await expect(stat(file)).rejects.toMatchObject({ code: "ENOENT" });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a step's holds its git token alone", () => {
    const s = stepSecret({
      repo: REPO,
      subject: "gen-7",
      step: "check",
      run: "r1",
      gitToken: TOKENS.gitToken,
    });
    expect(Object.keys(s.stringData ?? {})).toEqual(["git-token"]);
    expect(s.metadata?.name).toBe(verifyStepJob(step({ step: "check" })).metadata?.name);
  });
});

describe("bad input is refused with the field and what is accepted", () => {
  const refusal = (f: () => unknown): string => {
    try {
      f();
    } catch (err) {
      expect(err).toBeInstanceOf(KubeInputError);
      expect((err as KubeInputError).code).toBe("KUBE_INPUT_INVALID");
      return (err as Error).message;
    }
    throw new Error("not refused");
  };

  it("an image not pinned by digest", () => {
    for (const image of [
      "loom-lab:latest",
      "loom-lab",
      `loom-lab@sha256:${"c".repeat(63)}`,
      `Loom@sha256:${"c".repeat(64)}`,
    ]) {
      expect(refusal(() => labJob(lab({ image })))).toMatch(
        /^labJob: image: the image must be pinned by digest: name@sha256:<64 hex digits>/,
      );
      expect(refusal(() => verifyStepJob(step({ image })))).toMatch(
        /^verifyStepJob: image: .*pinned by digest/,
      );
    }
    // A tag before the digest is allowed: the digest is what the runtime pulls.
    expect(
      labJob(lab({ image: `loom-lab:v1@sha256:${"c".repeat(64)}` })).spec?.template.spec?.containers[0]
        ?.image,
    ).toContain("@sha256:");
  });

  it("a bad label value for the Supervisor's pods", () => {
    const bad = { ...IN_CLUSTER, inCluster: { podLabels: { app: "loom supervisor!" } } };
    expect(refusal(() => labNetworkPolicy({ repo: REPO, generation: 7, supervisor: bad }))).toMatch(
      /supervisor\.inCluster\.podLabels\.app: a label value is letters, digits/,
    );
    const long = { ...IN_CLUSTER, inCluster: { podLabels: { app: "x".repeat(64) } } };
    expect(refusal(() => labNetworkPolicy({ repo: REPO, generation: 7, supervisor: long }))).toMatch(
      /at most 63 characters/,
    );
    const empty = { ...IN_CLUSTER, inCluster: { podLabels: {} } };
    expect(refusal(() => labNetworkPolicy({ repo: REPO, generation: 7, supervisor: empty }))).toMatch(
      /podLabels needs at least one label/,
    );
  });

  it("a missing or malformed field", () => {
    const { parent: _parent, ...noParent } = lab();
    expect(refusal(() => labJob(noParent as LabJobInput))).toMatch(/parent: required \(expected string\)/);
    expect(refusal(() => labJob(lab({ parent: "abc123" })))).toMatch(/parent: a commit is a full SHA-1/);
    expect(refusal(() => labJob(lab({ repo: "/home/me/repo" })))).toMatch(
      /repo: the repo label is 16 lowercase hex digits/,
    );
    expect(refusal(() => labJob(lab({ generation: 0 })))).toMatch(/generation:/);
    expect(refusal(() => labJob(lab({ timeoutMs: 10 })))).toMatch(/timeoutMs:/);
    expect(refusal(() => labJob(lab({ namespace: "Loom_NS" })))).toMatch(
      /namespace: a namespace is lowercase/,
    );
    expect(refusal(() => labJob({ ...lab(), hostNetwork: true } as LabJobInput))).toMatch(/hostNetwork/);
    expect(refusal(() => verifyStepJob(step({ subject: "gen-x" })))).toMatch(
      /subject: the subject is gen-N or base-<full commit id>/,
    );
    expect(refusal(() => verifyStepJob(step({ step: "Full-Tests" })))).toMatch(
      /step: a step is 1–20 lowercase/,
    );
    expect(refusal(() => verifyStepJob(step({ ref: "refs/heads/main;rm -rf /" })))).toMatch(
      /ref: ref is main, lab\/gen-N/,
    );
    expect(refusal(() => verifyStepJob(step({ script: "" })))).toMatch(/script: script is empty/);
    expect(refusal(() => labSecret({ repo: REPO, generation: 7, ...TOKENS, gitToken: "short" }))).toMatch(
      /gitToken: a token is 16–512/,
    );
    expect(refusal(() => loomDefaultDeny({ repo: "nope" }))).toMatch(/loomDefaultDeny repo/);
  });

  it("a port out of range and a gitPath that is not a path", () => {
    expect(refusal(() => labJob(lab({ supervisor: { ...OUTSIDE, gitPort: 70000 } })))).toMatch(
      /supervisor\.gitPort:/,
    );
    expect(refusal(() => labJob(lab({ supervisor: { ...OUTSIDE, gitPath: "loom.git" } })))).toMatch(
      /supervisor\.gitPath: gitPath is an absolute URL path/,
    );
  });
});
