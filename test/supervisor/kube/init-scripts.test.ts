import { randomBytes } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ScriptedModelServer, startScriptedModel } from "../../../src/shared/scripted-model/index.ts";
import { type GitHttpServer, startGitHttp } from "../../../src/supervisor/git-http/index.ts";
import type { SupervisorEndpoint } from "../../../src/supervisor/kube/inputs.ts";
import { labJob, labSecret, stepSecret, verifyStepJob } from "../../../src/supervisor/kube/manifests.ts";
import { freePort } from "../../../src/supervisor/lifecycle/free-port.ts";
import { DEFAULT_LAB_IMAGE } from "../../../src/supervisor/lifecycle/lab-spec.ts";
import { labImageMissing } from "../../helpers/lab-image.ts";
import { commitFiles, makeFixture, sh, writeFiles } from "../git-repo-fixture.ts";
import { dockerPod, reapKubeletContainers } from "./docker-kubelet.ts";

/**
 * The rendered pods' scripts, run for real: each container of a rendered Job under docker with the
 * manifest's user, groups, read-only root, dropped capabilities and volumes (docker-kubelet.ts), against
 * the Supervisor's git endpoint (src/supervisor/git-http/) on loopback with real grants. What this
 * cannot show is a cluster's side: scheduling, the NetworkPolicies' enforcement, the TTL controller.
 */

const missing = await labImageMissing("the rendered pods' scripts under docker");
// The manifest pins a digest; here the local Lab image stands in for the bytes it names.
const PINNED = `127.0.0.1:5000/loom-lab@sha256:${"c".repeat(64)}`;
const REPO = "0123456789abcdef";
const hex = () => randomBytes(24).toString("hex");

describe.skipIf(missing !== undefined)("rendered Lab and step pods under docker", () => {
  let fixture: Awaited<ReturnType<typeof makeFixture>>;
  let server: GitHttpServer;
  let supervisor: SupervisorEndpoint;
  let parent: string;
  let branchTip: string;

  beforeAll(async () => {
    await reapKubeletContainers();
    fixture = await makeFixture();
    parent = (await sh(fixture.repo, ["rev-parse", "HEAD"])).trim();
    // What the Supervisor does before the Job: program.md on the parent, as lab/gen-7.
    await sh(fixture.repo, ["checkout", "-q", "-b", "lab/gen-7"]);
    // The repo ignores program.md (as Loom's does); the Supervisor adds it with -f.
    await writeFiles(fixture.repo, { "program.md": "# do the thing\n" });
    await sh(fixture.repo, ["add", "-f", "program.md"]);
    await sh(fixture.repo, ["commit", "-q", "--no-verify", "-m", "gen-7: program"]);
    branchTip = (await sh(fixture.repo, ["rev-parse", "HEAD"])).trim();
    await sh(fixture.repo, ["checkout", "-q", "main"]);
    await commitFiles(fixture.repo, { "src/app.ts": "export const app = 2;\n" }, "main moves on");
    server = await startGitHttp({ repoPath: fixture.repo });
    const url = new URL(server.url);
    supervisor = { address: "127.0.0.1", gitPort: Number(url.port), proxyPort: 1, gitPath: url.pathname };
  });
  afterAll(async () => {
    await server?.close();
    await fixture?.cleanup();
    await reapKubeletContainers();
  });

  const lab = (over: { parent?: string } = {}) =>
    labJob({
      repo: REPO,
      generation: 7,
      parent: over.parent ?? parent,
      image: PINNED,
      supervisor,
      timeoutMs: 60_000,
    });

  it("the Lab's init container clones lab/gen-7 as uid 10001 on a read-only root and hands over the secrets", async () => {
    const gitToken = server.grant({ generation: 7, push: "lab/gen-7" });
    const secret = labSecret({ repo: REPO, generation: 7, apiKey: hex(), labToken: hex(), gitToken });
    const job = lab();
    const pod = await dockerPod(job, secret, DEFAULT_LAB_IMAGE);
    try {
      const init = job.spec?.template.spec?.initContainers?.[0];
      if (!init) throw new Error("no init container");
      const r = await pod.run(init);
      expect(r.stderr).toBe("");
      expect(r.exitCode).toBe(0);
      const ws = pod.volume("workspace");
      expect(await readFile(path.join(ws, "program.md"), "utf8")).toBe("# do the thing\n");
      expect((await sh(ws, ["-c", "safe.directory=*", "rev-parse", "HEAD"])).trim()).toBe(branchTip);
      expect((await sh(ws, ["-c", "safe.directory=*", "symbolic-ref", "HEAD"])).trim()).toBe(
        "refs/heads/lab/gen-7",
      );
      expect((await sh(ws, ["-c", "safe.directory=*", "rev-parse", "main"])).trim()).toBe(
        (await sh(fixture.repo, ["rev-parse", "main"])).trim(),
      );
      // Nothing of the token in the clone: no remote, no header in its config.
      const config = await readFile(path.join(ws, ".git", "config"), "utf8");
      expect(config).not.toContain(gitToken);
      expect(config).not.toMatch(/extraHeader|remote/);
      expect((await stat(path.join(ws, "program.md"))).uid).toBe(10001);
      // The Lab's copies, private to its user, the secrets file exactly as the Secret holds it.
      const run = pod.volume("run");
      expect(await readFile(path.join(run, "secrets.json"), "utf8")).toBe(
        secret.stringData?.["secrets.json"],
      );
      expect(await readFile(path.join(run, "git-token"), "utf8")).toBe(gitToken);
      const st = await stat(path.join(run, "secrets.json"));
      expect(st.uid).toBe(10001);
      expect(st.mode & 0o077).toBe(0); // the Lab's user alone
    } finally {
      await pod.cleanup();
    }
  });

  it("refuses a branch that is not program.md on the named parent, and a token the endpoint does not know", async () => {
    const gitToken = server.grant({ generation: 7, push: "lab/gen-7" });
    const secret = labSecret({ repo: REPO, generation: 7, apiKey: hex(), labToken: hex(), gitToken });
    const wrong = lab({ parent: "f".repeat(40) });
    const pod = await dockerPod(wrong, secret, DEFAULT_LAB_IMAGE);
    try {
      const init = wrong.spec?.template.spec?.initContainers?.[0];
      if (!init) throw new Error("no init container");
      const r = await pod.run(init);
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toContain(
        `lab/gen-7 is not program.md on ${"f".repeat(40)} (its parent is ${parent})`,
      );
    } finally {
      await pod.cleanup();
    }
    const revoked = server.grant({ generation: 7 });
    server.revoke(revoked);
    const job = lab();
    const pod2 = await dockerPod(
      job,
      labSecret({ repo: REPO, generation: 7, apiKey: hex(), labToken: hex(), gitToken: revoked }),
      DEFAULT_LAB_IMAGE,
    );
    try {
      const init = job.spec?.template.spec?.initContainers?.[0];
      if (!init) throw new Error("no init container");
      const r = await pod2.run(init);
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toMatch(/could not read Username/);
      expect(r.stderr).toContain("fetching main and lab/gen-7 from http://127.0.0.1:");
    } finally {
      await pod2.cleanup();
    }
  });

  it("the Lab container does its generation on a read-only root, schemas/ read-only, and deletes its secrets file", async () => {
    let model: ScriptedModelServer | undefined;
    const port = await freePort();
    try {
      model = await startScriptedModel([
        { tool: "write_file", input: { path: "src/added.ts", content: "export const added = 1;\n" } },
        // Past the tool policy, straight at the mounts: the bash tool writes where the agent says.
        {
          tool: "bash",
          input: {
            command:
              "echo 2 > schemas/thing.ts; echo 1 > /opt/loom-x; echo 1 > /tmp/ok && echo tmp-ok; id -u; test -e /run/loom/secrets.json || echo secrets-gone",
          },
        },
        { text: "done" },
      ]);
      const proxyPort = Number(new URL(model.url).port);
      const gitToken = server.grant({ generation: 7, push: "lab/gen-7" });
      const secret = labSecret({ repo: REPO, generation: 7, apiKey: hex(), labToken: hex(), gitToken });
      const job = labJob({
        repo: REPO,
        generation: 7,
        parent,
        image: PINNED,
        supervisor: { ...supervisor, proxyPort },
        port,
        timeoutMs: 60_000,
        env: { LOOM_LAB_MODEL: "claude-scripted", LOOM_MAX_ITERATIONS: "5" },
      });
      const pod = await dockerPod(job, secret, DEFAULT_LAB_IMAGE);
      try {
        const [init] = job.spec?.template.spec?.initContainers ?? [];
        const [labC] = job.spec?.template.spec?.containers ?? [];
        if (!init || !labC) throw new Error("no containers");
        expect((await pod.run(init)).exitCode).toBe(0);
        // This machine's rule: servers bind loopback; in a cluster the pod's own network makes 0.0.0.0 private.
        const env = (labC.env ?? []).map((e) =>
          e.name === "LOOM_BIND_HOST" ? { ...e, value: "127.0.0.1" } : e,
        );
        const r = await pod.run({ ...labC, env });
        expect(r.exitCode, r.stderr).toBe(0);
        const ws = pod.volume("workspace");
        const git = (...args: string[]) => sh(ws, ["-c", "safe.directory=*", ...args]);
        expect((await git("rev-parse", "--abbrev-ref", "HEAD")).trim()).toBe("lab/gen-7");
        expect((await git("log", "--format=%s", "-1")).trim()).not.toBe("gen-7: program");
        expect(await git("show", "HEAD:src/added.ts")).toBe("export const added = 1;");
        // The read-only schemas/ mount held: the file is as main had it.
        expect(await readFile(path.join(ws, "schemas", "thing.ts"), "utf8")).toBe(
          "export const thing = 1;\n",
        );
        // What the bash tool answered: the schemas/ mount and the root refused the writes; /tmp took it.
        const answer = JSON.stringify(model.requests.at(-1)?.body);
        expect(answer).toMatch(/schemas\/thing\.ts: Read-only file system/);
        expect(answer).toMatch(/\/opt\/loom-x: Read-only file system/);
        expect(answer).toContain("tmp-ok");
        expect(answer).toContain("10001");
        expect(answer).toContain("secrets-gone");
        await expect(stat(path.join(pod.volume("run"), "secrets.json"))).rejects.toMatchObject({
          code: "ENOENT",
        });
      } finally {
        await pod.cleanup();
      }
    } finally {
      await model?.close();
    }
  });

  it("a step's init container checks out the commit with a fetch-only token; the step runs on a read-only root", async () => {
    const gitToken = server.grant({ generation: 7 });
    const script = [
      `test "$(git rev-parse HEAD)" = "${branchTip}"`,
      "test -f program.md",
      'test -z "$(git remote)"',
      // The root is read-only; /tmp (HOME) and the clone are not.
      "! touch /opt/loom-x 2>/dev/null",
      "touch /verify/written /tmp/written",
      "npm --version >/dev/null",
      "id -u",
    ].join(" && ");
    const job = verifyStepJob({
      repo: REPO,
      subject: "gen-7",
      step: "check",
      run: "t1",
      ref: "lab/gen-7",
      commit: branchTip,
      image: PINNED,
      supervisor,
      script,
      timeoutMs: 60_000,
    });
    const pod = await dockerPod(
      job,
      stepSecret({ repo: REPO, subject: "gen-7", step: "check", run: "t1", gitToken }),
      DEFAULT_LAB_IMAGE,
    );
    try {
      const [init] = job.spec?.template.spec?.initContainers ?? [];
      const [step] = job.spec?.template.spec?.containers ?? [];
      if (!init || !step) throw new Error("no containers");
      const cloned = await pod.run(init);
      expect(cloned.stderr).toBe("");
      expect(cloned.exitCode).toBe(0);
      const ran = await pod.run(step);
      expect(ran.stderr).toBe("");
      expect(ran.stdout.trim()).toBe("10001");
      expect(ran.exitCode).toBe(0);
    } finally {
      await pod.cleanup();
    }
  });

  it("a step's init container refuses a ref that does not reach the commit", async () => {
    const gitToken = server.grant({ generation: 7 });
    const job = verifyStepJob({
      repo: REPO,
      subject: "gen-7",
      step: "check",
      run: "t2",
      ref: "main",
      commit: branchTip,
      image: PINNED,
      supervisor,
      script: "true",
      timeoutMs: 60_000,
    });
    const pod = await dockerPod(
      job,
      stepSecret({ repo: REPO, subject: "gen-7", step: "check", run: "t2", gitToken }),
      DEFAULT_LAB_IMAGE,
    );
    try {
      const [init] = job.spec?.template.spec?.initContainers ?? [];
      if (!init) throw new Error("no init container");
      const r = await pod.run(init);
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toContain(`main does not reach ${branchTip}`);
    } finally {
      await pod.cleanup();
    }
  });
});
