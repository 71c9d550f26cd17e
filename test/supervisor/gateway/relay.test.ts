import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Gateway, startGateway } from "../../../src/supervisor/gateway/gateway.ts";
import {
  type RelayedTask,
  type RelayTaskInput,
  relayTask,
} from "../../../src/supervisor/gateway/relay-task.ts";
import { freePort } from "../../../src/supervisor/lifecycle/free-port.ts";
import {
  type LabSockets,
  makeLabSockets,
  writeLabSecrets,
} from "../../../src/supervisor/lifecycle/lab-sockets.ts";
import { DEFAULT_LAB_IMAGE } from "../../../src/supervisor/lifecycle/lab-spec.ts";
import { relayLab } from "../../../src/supervisor/lifecycle/relay-lab.ts";
import { pushImage, type RunningRegistry, startRegistry } from "../../../src/supervisor/registry/index.ts";
import { DockerRuntime } from "../../../src/supervisor/runtime/docker.ts";
import type { ContainerRuntime } from "../../../src/supervisor/runtime/runtime.ts";
import { SwarmRuntime } from "../../../src/supervisor/runtime/swarm.ts";
import { labImageMissing } from "../../helpers/lab-image.ts";

/**
 * A Lab task with nothing mounted: Loom's relay in front of the jailed command rebuilds the workspace
 * (git clone of lab/gen-N from the generation's endpoint, through the gateway) and the socket folder
 * (secrets, model.sock, lab.sock), runs the command with no network, then pushes lab/gen-N back. The
 * Supervisor's side sees the same folder it would mount: a request on its lab.sock reaches the server
 * inside the task; what the task commits lands in the host workspace.
 */
const missing = await labImageMissing("relay tests");
const swarm = await new SwarmRuntime().available();
const docker = await new DockerRuntime().available();

const git = (cwd: string, ...args: string[]) => execa("git", args, { cwd }).then((r) => r.stdout.trim());

/** The same relay under both runtimes that have one: swarm (images by digest from a registry) and docker. */
const targets = [
  { name: "single-node swarm", skip: missing !== undefined || !swarm.ok },
  { name: "docker", skip: missing !== undefined || !docker.ok },
] as const;

describe.each(targets)("the Lab relay through the gateway ($name)", ({ name, skip }) => {
  if (skip) {
    it.skip(`needs the Lab image and ${name}`, () => {});
    return;
  }
  const labels = { "loom.test.run": randomBytes(6).toString("hex") };
  let dir: string;
  let workspace: string;
  let sockets: LabSockets;
  let gateway: Gateway;
  let relayed: RelayedTask;
  let registry: RunningRegistry | undefined;
  let pushedTag: string | undefined;
  let rt: ContainerRuntime;
  let modelServer: http.Server;
  const models: string[] = [];

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "loom-relay-"));
    workspace = path.join(dir, "ws");
    await fs.mkdir(workspace);
    await git(workspace, "init", "-q", "-b", "lab/gen-7");
    await fs.writeFile(path.join(workspace, "program.md"), "# the program\n");
    await git(workspace, "add", "-A");
    await execa("git", ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "gen-7: program"], {
      cwd: workspace,
    });
    sockets = await makeLabSockets(7);
    await writeLabSecrets(sockets, { apiKey: "proxy-token-7", labToken: "lab-token-7" });
    // Stands where the model proxy listens: what the Lab sends to model.sock arrives here.
    modelServer = http.createServer((req, res) => {
      models.push(`${req.method} ${req.url}`);
      res.end("model says hi");
    });
    await new Promise<void>((r) => modelServer.listen(sockets.modelSocket, () => r()));
    await fs.chmod(sockets.modelSocket, 0o666);
    gateway = await startGateway({ port: 0 });
    relayed = await relayLab(gateway, { generation: 7, sockets, workspace, packages: undefined });
    if (name === "docker") rt = new DockerRuntime();
    else {
      registry = await startRegistry({ dir: path.join(dir, "registry"), port: await freePort() });
      const pushed = await pushImage({ image: DEFAULT_LAB_IMAGE, registry: registry.address });
      pushedTag = pushed.tagged;
      rt = new SwarmRuntime({ resolveImage: async () => pushed.reference, pollMs: 100 });
    }
  }, 180_000);

  afterAll(async () => {
    if (rt) for (const c of await rt.list(labels)) await rt.remove(c.id);
    await relayed?.close();
    await gateway?.close();
    await new Promise<void>((r) => (modelServer ? modelServer.close(() => r()) : r()));
    await registry?.stop();
    // The push tagged the Lab image for that registry on this engine: untag it (the image stays).
    if (pushedTag) await execa("docker", ["rmi", pushedTag], { reject: false });
    await sockets?.remove();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it("clones, tunnels both ways, runs the command without network, pushes lab/gen-N back", async () => {
    const inside = `
      const fs = require("fs"), http = require("http"), net = require("net"), cp = require("child_process");
      console.log("SECRETS " + fs.readFileSync("/run/loom/secrets.json", "utf8"));
      console.log("PROGRAM " + fs.readFileSync("/workspace/program.md", "utf8").trim());
      console.log("UID " + process.getuid());
      try { fs.writeFileSync("/workspace/schemas/x.ts", "x"); console.log("SCHEMAS WRITTEN"); } catch (e) { console.log("SCHEMAS " + e.code); }
      try { fs.renameSync("/workspace/schemas", "/workspace/moved"); console.log("SCHEMAS MOVED"); } catch (e) { console.log("SCHEMAS MOVE " + e.code); }
      net.connect(${gateway.port}, "127.0.0.1").on("connect", () => console.log("GATEWAY REACHED"))
        .on("error", (e) => console.log("NO NETWORK " + e.code));
      http.get({ socketPath: "/run/loom/model.sock", path: "/v1/messages" }, (r) => {
        let b = ""; r.on("data", (d) => (b += d)); r.on("end", () => console.log("MODEL " + b));
      });
      const server = http.createServer((q, r) => r.end("inside " + q.url));
      server.listen("/run/loom/lab.sock", () => console.log("LISTENING"));
      setTimeout(() => {
        fs.writeFileSync("/workspace/made-inside.txt", "by the Lab\\n");
        const g = (a) => cp.execFileSync("git", ["-C", "/workspace", "-c", "user.name=lab", "-c", "user.email=lab@loom", ...a]);
        g(["add", "made-inside.txt"]); g(["commit", "-qm", "gen-7: made inside"]);
        fs.mkdirSync("/workspace/.loom", { recursive: true });
        fs.writeFileSync("/workspace/.loom/report.json", JSON.stringify({ said: "done" }));
        server.close(); console.log("DONE");
      }, 3000);`;
    const h = await rt.run({
      image: DEFAULT_LAB_IMAGE,
      entrypoint: "node",
      command: ["-e", inside],
      labels,
      network: "none",
      relay: relayed.relay,
    });
    // The Supervisor's side: its lab.sock reaches the server inside the task.
    let answer = "";
    for (let i = 0; i < 100 && answer === ""; i++) {
      answer = await new Promise<string>((resolve) => {
        const req = http.get({ socketPath: sockets.labSocket, path: "/status" }, (r) => {
          let b = "";
          r.on("data", (d) => (b += d));
          r.on("end", () => resolve(b));
        });
        req.on("error", () => resolve(""));
      });
      if (answer === "") await new Promise((r) => setTimeout(r, 50));
    }
    expect(answer).toBe("inside /status");
    expect(await rt.wait(h.id, { timeoutMs: 60_000 })).toEqual({ kind: "exited", exitCode: 0 });
    const logs = await rt.logs(h.id);
    expect(logs).toContain('SECRETS {"apiKey":"proxy-token-7","labToken":"lab-token-7"}');
    expect(logs).toContain("PROGRAM # the program");
    expect(logs).toContain("UID 10001");
    expect(logs).toMatch(/SCHEMAS (EROFS|EACCES)/);
    expect(logs).toMatch(/SCHEMAS MOVE (EBUSY|EACCES|EPERM)/);
    expect(logs).toMatch(/NO NETWORK (ECONNREFUSED|ENETUNREACH)/);
    expect(logs).not.toContain("GATEWAY REACHED");
    expect(logs).toContain("MODEL model says hi");
    expect(models).toEqual(["GET /v1/messages"]);
    // Pushed back: the workspace's branch (checked out) moved, its files with it; the report arrived.
    expect(await git(workspace, "log", "-1", "--format=%s", "lab/gen-7")).toBe("gen-7: made inside");
    expect(await fs.readFile(path.join(workspace, "made-inside.txt"), "utf8")).toBe("by the Lab\n");
    expect(JSON.parse(await fs.readFile(path.join(workspace, ".loom", "report.json"), "utf8"))).toEqual({
      said: "done",
    });
  }, 120_000);

  it("a verification step: the candidate's commit, the packages as under docker, no network, nothing pushed", async () => {
    const clone = path.join(dir, "clone");
    await execa("git", ["clone", "-q", "--no-checkout", workspace, clone]);
    const commit = await git(workspace, "rev-parse", "lab/gen-7");
    await git(clone, "checkout", "-q", "--detach", commit);
    const packages = path.join(dir, "packages", "node_modules");
    await fs.mkdir(path.join(packages, "left-pad"), { recursive: true });
    await fs.writeFile(path.join(packages, "left-pad", "index.js"), "module.exports = (s) => ' ' + s;\n");
    const stepDir = await fs.mkdtemp(path.join(os.tmpdir(), "loom-step-test-"));
    const step = await relayTask(gateway, {
      key: "gen-7-check-test",
      dir: stepDir,
      repoPath: clone,
      checkout: { commit },
      packages,
      packagesAt: "/verify-packages/node_modules",
    });
    try {
      const inside = `
        const fs = require("fs"), net = require("net");
        console.log("HEAD " + require("child_process").execFileSync("git", ["rev-parse", "HEAD"]).toString().trim());
        console.log("PAD " + require("/verify/node_modules/left-pad")("x"));
        console.log("LINK " + fs.readlinkSync("/verify/node_modules/left-pad"));
        console.log("SECRETS " + fs.existsSync("/run/loom/secrets.json"));
        fs.writeFileSync("/verify/written-by-step.txt", "x");
        net.connect(${gateway.port}, "127.0.0.1").on("connect", () => console.log("GATEWAY REACHED"))
          .on("error", (e) => console.log("NO NETWORK " + e.code));`;
      const h = await rt.run({
        image: DEFAULT_LAB_IMAGE,
        entrypoint: "node",
        command: ["-e", inside],
        workdir: "/verify",
        labels: { ...labels, "loom.step": "check" },
        network: "none",
        relay: step.relay,
      });
      expect(await rt.wait(h.id, { timeoutMs: 60_000 })).toEqual({ kind: "exited", exitCode: 0 });
      const logs = await rt.logs(h.id);
      expect(logs).toContain(`HEAD ${commit}`);
      expect(logs).toContain("PAD  x");
      expect(logs).toContain("LINK /verify-packages/node_modules/left-pad");
      expect(logs).toContain("SECRETS false");
      expect(logs).toMatch(/NO NETWORK (ECONNREFUSED|ENETUNREACH)/);
      // Nothing comes back from a step: the host clone is as it was.
      expect(await fs.readdir(clone)).not.toContain("written-by-step.txt");
      expect(await git(clone, "rev-parse", "HEAD")).toBe(commit);
    } finally {
      await step.close();
      await fs.rm(stepDir, { recursive: true, force: true });
    }
  }, 120_000);

  it("an install step sends what it installed back, and the next step gets it as its packages", async () => {
    const clone = path.join(dir, "clone-install");
    await execa("git", ["clone", "-q", workspace, clone]);
    const commit = await git(clone, "rev-parse", "HEAD");
    const installed = path.join(clone, ".loom-packages", "node_modules");
    const run = async (key: string, script: string, extra: Partial<RelayTaskInput>) => {
      const stepDir = await fs.mkdtemp(path.join(os.tmpdir(), "loom-step-test-"));
      const step = await relayTask(gateway, {
        key,
        dir: stepDir,
        repoPath: clone,
        checkout: { commit },
        ...extra,
      });
      try {
        const h = await rt.run({
          image: DEFAULT_LAB_IMAGE,
          entrypoint: "sh",
          command: ["-c", script],
          workdir: "/verify",
          labels: { ...labels, "loom.step": key },
          network: "none",
          relay: step.relay,
        });
        return { ended: await rt.wait(h.id, { timeoutMs: 60_000 }), logs: await rt.logs(h.id) };
      } finally {
        await step.close();
        await fs.rm(stepDir, { recursive: true, force: true });
      }
    };
    const install = await run(
      `install-${name.replace(/\W/g, "")}`,
      "mkdir -p node_modules/made-here && echo installed > node_modules/made-here/index.txt",
      { uploadPackagesTo: installed },
    );
    expect(install.ended, install.logs).toEqual({ kind: "exited", exitCode: 0 });
    expect(await fs.readFile(path.join(installed, "made-here", "index.txt"), "utf8")).toBe("installed\n");
    const next = await run(`check-${name.replace(/\W/g, "")}`, "cat node_modules/made-here/index.txt", {
      packages: installed,
      packagesAt: "/verify-packages/node_modules",
    });
    expect(next.ended, next.logs).toEqual({ kind: "exited", exitCode: 0 });
    expect(next.logs).toContain("installed");
  }, 120_000);
});
