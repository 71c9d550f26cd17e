import { describe, expect, it } from "vitest";
import { engineEnv, engineListArgs, engineRunArgs } from "../../../src/supervisor/runtime/engine-args.ts";
import { containerBody, type EngineFlavor } from "../../../src/supervisor/runtime/engine-body.ts";
import { parseEngineInspect } from "../../../src/supervisor/runtime/engine-inspect.ts";
import { type JailedCommand, jailedCommand } from "../../../src/supervisor/runtime/jail.ts";
import { PodmanRuntime } from "../../../src/supervisor/runtime/podman.ts";
import {
  type HostRunSpec,
  launch,
  parseHostRunSpec,
  parseRunSpec,
} from "../../../src/supervisor/runtime/runtime.ts";
import { SwarmRuntime } from "../../../src/supervisor/runtime/swarm.ts";

/** The CLI line for a spec, as the runtime derives it: through the create body. */
const cli = (spec: HostRunSpec, name: string, flavor: EngineFlavor, task?: JailedCommand) =>
  engineRunArgs(containerBody(spec, flavor, task), name);

describe("parseRunSpec", () => {
  it("fills defaults: no env, no labels, no-new-privileges on; names nothing of a host", () => {
    expect(parseRunSpec({ image: "i", command: ["x"] })).toMatchObject({
      env: {},
      labels: {},
      limits: {},
      noNewPrivileges: true,
    });
  });

  it("names every bad field and what is accepted", () => {
    let message = "";
    try {
      parseRunSpec({
        image: "",
        command: [],
        env: { "1BAD": "x" },
        limits: { memoryMb: 1 },
      });
    } catch (err) {
      expect(err).toMatchObject({ code: "INVALID_SPEC", name: "RuntimeError" });
      message = (err as Error).message;
    }
    for (const part of ["image:", "command: command needs", "env.1BAD", "limits.memoryMb"]) {
      expect(message).toContain(part);
    }
  });

  it("has no host mounts or ports: those are a host binding, which only a host runtime takes", () => {
    const withMounts = { image: "i", command: ["x"], mounts: [{ host: "/srv", container: "/w" }] };
    expect(() => parseRunSpec(withMounts as never)).toThrow(/invalid container spec: .*mounts/);
    expect(() => parseRunSpec({ image: "i", command: ["x"], ports: [{ container: 1 }] } as never)).toThrow(
      /ports/,
    );
    let message = "";
    try {
      parseHostRunSpec(
        { image: "i", command: ["x"] },
        { mounts: [{ host: "relative", container: "/c" }], ports: [{ container: 70000 }] },
      );
    } catch (err) {
      expect(err).toMatchObject({ code: "INVALID_SPEC" });
      message = (err as Error).message;
    }
    expect(message).toMatch(/^invalid host binding: /);
    expect(message).toContain("mounts[0].host: must be an absolute path");
    expect(message).toContain("ports[0].container");
    // A task behind the gateway reaches nothing of the host: a binding with it is refused, not ignored.
    const relay = { url: "http://127.0.0.1:4100", token: "ab".repeat(32) };
    expect(() =>
      parseHostRunSpec(
        { image: "i", command: ["x"], relay },
        { mounts: [{ host: "/srv", container: "/w" }] },
      ),
    ).toThrow(/spec\.relay\) takes no host binding/);
    expect(parseHostRunSpec({ image: "i", command: ["x"], relay }, {})).toMatchObject({
      mounts: [],
      ports: [],
    });
  });

  it("a launch with a host binding is refused by a runtime without a host, naming what needs it and why", async () => {
    // Refused before the engine is asked anything: the socket here does not exist.
    const swarm = new SwarmRuntime({ host: "unix:///nonexistent/docker.sock" });
    await expect(
      launch(
        swarm,
        { spec: { image: "i", command: ["x"] }, host: { mounts: [{ host: "/srv", container: "/w" }] } },
        "a Lab whose workspace is mounted",
      ),
    ).rejects.toMatchObject({
      code: "INVALID_SPEC",
      message: expect.stringMatching(
        /^a Lab whose workspace is mounted needs the Supervisor's own host .*the swarm runtime does not give; it reaches its tasks through the gateway only$/,
      ),
    });
  });

  it("refuses unknown fields rather than ignoring them", () => {
    expect(() => parseRunSpec({ image: "i", command: ["x"], privileged: true } as never)).toThrow(
      /privileged/,
    );
  });
});

describe("docker/podman command lines", () => {
  const spec = parseHostRunSpec(
    {
      image: "loom:main",
      command: ["node", "server.js"],
      env: { ANTHROPIC_API_KEY: "sk-secret", MODE: "lab" },
      labels: { "loom.role": "lab" },
      workdir: "/workspace",
      network: "host",
      limits: { memoryMb: 512, pids: 256, cpus: 1.5 },
    },
    {
      mounts: [
        { host: "/srv/ws", container: "/workspace" },
        { host: "/srv/schemas", container: "/workspace/schemas", readOnly: true },
      ],
      ports: [{ container: 8402 }],
    },
  );

  it("pins the docker run line; env values never appear on it", () => {
    const args = cli(spec, "loom-x", { init: true });
    expect(args).toEqual([
      "run",
      "-d",
      "--name",
      "loom-x",
      "--init",
      "--label",
      "loom.role=lab",
      "-e",
      "ANTHROPIC_API_KEY",
      "-e",
      "MODE",
      "-w",
      "/workspace",
      "-v",
      "/srv/ws:/workspace",
      "-v",
      "/srv/schemas:/workspace/schemas:ro",
      "--network",
      "host",
      "--expose",
      "8402",
      "--memory",
      "512m",
      "--memory-swap",
      "512m",
      "--pids-limit",
      "256",
      "--cpus",
      "1.5",
      "--security-opt",
      "no-new-privileges",
      "loom:main",
      "node",
      "server.js",
    ]);
    expect(args.join(" ")).not.toContain("sk-secret");
  });

  it("pins the Engine API create body the CLI line is derived from; env values travel in it", () => {
    expect(containerBody(spec, { init: true })).toEqual({
      Image: "loom:main",
      Cmd: ["node", "server.js"],
      Env: ["ANTHROPIC_API_KEY=sk-secret", "MODE=lab"],
      Labels: { "loom.role": "lab" },
      WorkingDir: "/workspace",
      ExposedPorts: { "8402/tcp": {} },
      HostConfig: {
        Init: true,
        Binds: ["/srv/ws:/workspace", "/srv/schemas:/workspace/schemas:ro"],
        NetworkMode: "host",
        Memory: 512 * 1024 * 1024,
        MemorySwap: 512 * 1024 * 1024,
        PidsLimit: 256,
        NanoCpus: 1_500_000_000,
        SecurityOpt: ["no-new-privileges"],
      },
    });
    const none = containerBody({ ...spec, network: "none" }, { init: true });
    expect(none.HostConfig).toMatchObject({ NetworkMode: "none", CapDrop: ["ALL"] });
    expect(none.ExposedPorts).toBeUndefined();
    expect(none.HostConfig.PortBindings).toBeUndefined();
  });

  it("without network: --network none, nothing published, every capability dropped", () => {
    const args = cli({ ...spec, network: "none" }, "loom-x", { init: true });
    expect(args.join(" ")).toContain("--network none");
    expect(args.join(" ")).toContain("--cap-drop ALL");
    expect(args).not.toContain("-p");
    expect(args).not.toContain("--expose");
  });

  it("a background priority becomes low CPU shares", () => {
    const args = cli({ ...spec, limits: { priority: "background" } }, "loom-x", { init: true });
    expect(args.slice(args.indexOf("--cpu-shares"), args.indexOf("--cpu-shares") + 2)).toEqual([
      "--cpu-shares",
      "128",
    ]);
    expect(cli(spec, "loom-x", { init: true })).not.toContain("--cpu-shares");
  });

  it("publishes on loopback with an engine-chosen port off the host network; podman has no --init", () => {
    const args = cli(
      parseHostRunSpec(
        {
          image: "i",
          command: ["x"],
          network: "loom-net",
          noNewPrivileges: false,
        },
        { ports: [{ container: 8402 }] },
      ),
      "n",
      { init: false },
    );
    expect(args).toEqual([
      "run",
      "-d",
      "--name",
      "n",
      "--network",
      "loom-net",
      "-p",
      "127.0.0.1::8402",
      "i",
      "x",
    ]);
  });

  it("replaces the image's entrypoint when the spec names one, keeping command as its arguments", () => {
    const args = cli(
      parseHostRunSpec({ image: "i", entrypoint: "sh", command: ["-c", "npm test"], noNewPrivileges: false }),
      "n",
      { init: false },
    );
    expect(args).toEqual(["run", "-d", "--name", "n", "--entrypoint", "sh", "i", "-c", "npm test"]);
  });

  it("refuses mount paths the -v syntax cannot express", () => {
    const bad = parseHostRunSpec(
      { image: "i", command: ["x"] },
      { mounts: [{ host: "/a:b", container: "/c" }] },
    );
    expect(() => cli(bad, "n", { init: true })).toThrow(expect.objectContaining({ code: "INVALID_SPEC" }));
  });

  it("filters ps by every label", () => {
    expect(engineListArgs({ a: "1", b: "2" })).toEqual([
      "ps",
      "-a",
      "--no-trunc",
      "--format",
      "{{.ID}}",
      "--filter",
      "label=a=1",
      "--filter",
      "label=b=2",
    ]);
  });
});

describe("docker/podman inspect parsing", () => {
  const sample = (over: Record<string, unknown>) =>
    JSON.stringify([
      {
        Id: "abc",
        Name: "/loom-x",
        State: { Status: "exited", ExitCode: 137, OOMKilled: true, StartedAt: "2026-01-01T00:00:00Z" },
        Config: { Labels: { a: "1" }, ExposedPorts: { "8402/tcp": {} } },
        HostConfig: { NetworkMode: "bridge" },
        NetworkSettings: {
          Ports: { "8402/tcp": [{ HostIp: "127.0.0.1", HostPort: "49153" }], "53/udp": null },
        },
        ...over,
      },
    ]);

  it("reads state, exit code, OOM, labels and the published host port", () => {
    expect(parseEngineInspect(sample({}))).toEqual([
      {
        id: "abc",
        name: "loom-x",
        state: "exited",
        exitCode: 137,
        oomKilled: true,
        labels: { a: "1" },
        startedAt: "2026-01-01T00:00:00Z",
        endpoints: [{ containerPort: 8402, host: "127.0.0.1", port: 49153 }],
      },
    ]);
  });

  it("host networking: the exposed port itself; never-started and podman state names", () => {
    const [info] = parseEngineInspect(
      sample({
        State: { Status: "configured", ExitCode: 0, StartedAt: "0001-01-01T00:00:00Z" },
        HostConfig: { NetworkMode: "host" },
        NetworkSettings: {},
      }),
    );
    expect(info).toMatchObject({
      state: "created",
      exitCode: undefined,
      startedAt: undefined,
      oomKilled: false,
    });
    expect(info?.endpoints).toEqual([{ containerPort: 8402, host: "127.0.0.1", port: 8402 }]);
  });

  it("fails BAD_ENGINE_OUTPUT naming the field", () => {
    expect(() => parseEngineInspect("{oops")).toThrow(expect.objectContaining({ code: "BAD_ENGINE_OUTPUT" }));
    expect(() => parseEngineInspect(sample({ State: {} }))).toThrow(/\[0\]\.State\.Status/);
  });
});

describe("a docker task behind the relay (LOOM_WORKSPACE_TRANSPORT=git)", () => {
  const token = "ab".repeat(32);
  const spec = parseHostRunSpec({
    image: "loom-lab:latest",
    command: ["lab", "--workspace", "/workspace"],
    env: { LOOM_LAB_MODEL: "m" },
    labels: { loom: "1" },
    workdir: "/workspace",
    network: "none",
    limits: { memoryMb: 2048, pids: 512, cpus: 2 },
    relay: { url: "http://127.0.0.1:4100", token },
  });
  const facts = { entrypoint: ["node", "/opt/loom/entry.mjs"], user: "10001:10001" };
  const task = jailedCommand(spec, facts, "none");
  const body = containerBody(spec, { init: true }, task);
  const args = engineRunArgs(body, "loom-x");

  it("runs the relay as root on the host network with only the jail's capabilities, nothing mounted but the package cache", () => {
    expect(args.join(" ")).toContain("--network host --user 0 --cap-add SYS_ADMIN --cap-add NET_ADMIN");
    expect(args.filter((_a, i) => args[i - 1] === "-v")).toEqual(["loom-packages:/var/cache/loom-packages"]);
    expect(args).toContain("no-new-privileges");
    expect(args.slice(args.indexOf("--entrypoint"), args.indexOf("--entrypoint") + 4)).toEqual([
      "--entrypoint",
      "node",
      "loom-lab:latest",
      "/opt/loom/entry.mjs",
    ]);
    // The relay, then the jail with no network, then the Lab as the image's user.
    const relay = args.indexOf("lab-relay");
    expect(args.slice(relay, relay + 8)).toEqual([
      "lab-relay",
      "--uid",
      "10001",
      "--gid",
      "10001",
      "--workspace",
      "/workspace",
      "--",
    ]);
    const jail = args.indexOf("loom-jail");
    expect(args.slice(jail + 2, jail + 6)).toEqual(["none", "10001", "10001", "1"]);
    expect(args.slice(-5)).toEqual(["node", "/opt/loom/entry.mjs", "lab", "--workspace", "/workspace"]);
  });

  it("as a create body: root on the host network, the relay as entrypoint, the token in Env", () => {
    expect(body).toMatchObject({
      User: "0",
      Entrypoint: ["node"],
      HostConfig: {
        NetworkMode: "host",
        CapAdd: ["SYS_ADMIN", "NET_ADMIN"],
        Binds: ["loom-packages:/var/cache/loom-packages"],
      },
    });
    expect(body.Cmd[0]).toBe("/opt/loom/entry.mjs");
    expect(body.Env).toContain(`LOOM_RELAY_TOKEN=${token}`);
    expect(body.HostConfig.CapDrop).toBeUndefined();
  });

  it("passes the gateway token by name only: never in the command line", () => {
    expect(args.join(" ")).not.toContain(token);
    expect(args).toContain("LOOM_RELAY_TOKEN");
    expect(engineEnv(body)).toMatchObject({
      LOOM_RELAY_TOKEN: token,
      LOOM_RELAY_URL: "http://127.0.0.1:4100",
    });
  });

  it("podman refuses a relayed spec before it looks anything up (its CLI is not even run)", async () => {
    const podman = new PodmanRuntime({ binary: "/nonexistent/podman" });
    const relayed = {
      image: "loom-lab:latest",
      command: ["lab"],
      relay: { url: "http://127.0.0.1:4100", token },
    };
    await expect(podman.run(relayed)).rejects.toMatchObject({
      code: "INVALID_SPEC",
      message: expect.stringContaining("only docker and swarm can"),
    });
  });

  it("refuses an image whose user is a name (the relay hands the workspace to a uid)", () => {
    expect(() => jailedCommand(spec, { entrypoint: ["node"], user: "loom" }, "none")).toThrow(
      /a relayed task needs the image's user as numbers \(uid:gid\), not "loom"/,
    );
  });
});
