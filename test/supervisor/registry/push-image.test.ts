import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../../src/supervisor/lifecycle/free-port.ts";
import { pullOnEngine } from "../../../src/supervisor/registry/pull-on-engine.ts";
import { pushImage } from "../../../src/supervisor/registry/push-image.ts";
import { loomRegistryDir, pushLabImage } from "../../../src/supervisor/registry/push-lab-image.ts";
import { readPushedImage } from "../../../src/supervisor/registry/pushed-image.ts";
import { parseDigestReference, requireDigestReference } from "../../../src/supervisor/registry/reference.ts";
import { manifestDigest } from "../../../src/supervisor/registry/registry-http.ts";
import {
  type RunningRegistry,
  reapRegistry,
  startRegistry,
} from "../../../src/supervisor/registry/registry-process.ts";
import { ensureTestImage } from "../runtime/test-image.ts";
import { dockerAnswers, registryInstalled, testRegistryRoot } from "./registry-helpers.ts";

/** Images through Loom's registry: pushed, pinned by digest, pulled back by that digest alone. */

const ready = registryInstalled() && dockerAnswers();
if (!ready) console.warn("[registry push] skipped: needs docker-registry and a docker engine");
const required = process.env.LOOM_REQUIRE_ENGINES === "1";
const REPO = "loom-registry-test";

describe("digest references", () => {
  it("accepts NAME@sha256:<64 hex> and refuses tags, short digests and bare names", () => {
    const digest = `sha256:${"a".repeat(64)}`;
    expect(parseDigestReference(`127.0.0.1:5000/loom-lab@${digest}`)).toEqual({
      name: "127.0.0.1:5000/loom-lab",
      digest,
    });
    for (const bad of ["127.0.0.1:5000/loom-lab:latest", "loom-lab", `loom-lab@sha256:${"a".repeat(63)}`]) {
      expect(parseDigestReference(bad)).toBeUndefined();
      expect(() => requireDigestReference(bad)).toThrow(
        expect.objectContaining({
          code: "DIGEST_REQUIRED",
          message: expect.stringContaining(`"${bad}" is not pinned by digest`),
        }),
      );
    }
  });

  it("pullOnEngine refuses a reference that is not pinned by digest, before any pull", async () => {
    await expect(pullOnEngine("127.0.0.1:5000/loom-lab:latest")).rejects.toMatchObject({
      code: "DIGEST_REQUIRED",
      message: expect.stringContaining("npm run image -- --push"),
    });
  });
});

// Pushes of a real image to a real registry: 3–12 s alone, over 30 s beside the suite on a slow day.
describe.skipIf(!ready && !required)("pushing to Loom's registry", { timeout: 120_000 }, () => {
  const run = randomBytes(4).toString("hex");
  let root: string;
  let registry: RunningRegistry;
  let testImage: string;
  const local = `${REPO}:${run}`;

  beforeAll(async () => {
    root = await testRegistryRoot();
    testImage = await ensureTestImage();
    await execa("docker", ["tag", testImage, local]);
    registry = await startRegistry({ dir: path.join(root, "registry"), port: await freePort() });
  });
  afterAll(async () => {
    await registry?.stop().catch(() => undefined);
    await reapRegistry(path.join(root, "state", "registry")).catch(() => undefined);
    // Every name these tests gave an image, including earlier runs' (the images stay: loom-test-base holds them).
    const names = await execa("docker", ["images", "--format", "{{.Repository}}:{{.Tag}}"], {
      reject: false,
    });
    const ours = names.stdout
      .split("\n")
      .filter((n) => n.split(":")[0]?.endsWith(REPO) || n.includes(`/${REPO}:`));
    if (ours.length > 0) await execa("docker", ["rmi", ...ours], { reject: false });
    await rm(root, { recursive: true, force: true });
  });

  it("pushes the test image and returns it pinned by the digest the registry serves", async () => {
    const pushed = await pushImage({ image: local, registry: registry.address });
    expect(pushed.reference).toMatch(new RegExp(`^127\\.0\\.0\\.1:\\d+/${REPO}@sha256:[0-9a-f]{64}$`));
    expect(pushed.reference).toBe(`${registry.address}/${REPO}@${pushed.digest}`);
    const id = (await execa("docker", ["image", "inspect", "--format", "{{.Id}}", testImage])).stdout.trim();
    expect(pushed.imageId).toBe(id);
    // The tag is the image id's hex, so the same bytes always go under the same tag.
    expect(pushed.tagged).toBe(`${registry.address}/${REPO}:${id.replace("sha256:", "")}`);
    // Asked independently of the push: the registry's manifest for that tag has the digest.
    const tag = pushed.tagged.split(":").at(-1) as string;
    expect(await manifestDigest(`http://${registry.address}`, REPO, tag)).toBe(pushed.digest);
    expect(await manifestDigest(`http://${registry.address}`, REPO, pushed.digest)).toBe(pushed.digest);

    // Runs by digest alone (plain http to 127.0.0.0/8 needs no engine setting on docker 20.10).
    const ran = await execa("docker", [
      "run",
      "--rm",
      "--network",
      "none",
      pushed.reference,
      "echo",
      "by-digest",
    ]);
    expect(ran.stdout.trim()).toBe("by-digest");
  });

  it("an image deleted from the engine comes back by its digest, from the registry alone", async () => {
    // A tiny image of its own (one random file), so it can be deleted outright without touching others.
    const dir = await mkdtemp(path.join(root, "tiny-"));
    await writeFile(path.join(dir, "marker"), randomBytes(16).toString("hex"));
    const tiny = `${REPO}:tiny-${run}`;
    await execa("tar", ["-C", dir, "-cf", path.join(root, `tiny-${run}.tar`), "marker"]);
    await execa("docker", ["import", path.join(root, `tiny-${run}.tar`), tiny]);
    const pushed = await pushImage({ image: tiny, registry: registry.address, tag: `tiny-${run}` });
    await execa("docker", ["rmi", tiny, pushed.tagged]);
    const gone = await execa("docker", ["image", "inspect", pushed.imageId], { reject: false });
    expect(gone.exitCode).not.toBe(0);

    // The engine named explicitly, as a swarm node's would be.
    expect(await pullOnEngine(pushed.reference, "unix:///var/run/docker.sock")).toBe(pushed.imageId);
    const back = await execa("docker", [
      "image",
      "inspect",
      "--format",
      "{{json .RepoDigests}}",
      pushed.imageId,
    ]);
    expect(JSON.parse(back.stdout)).toContain(pushed.reference);
    await execa("docker", ["rmi", pushed.reference], { reject: false });

    const absent = path.join(root, "no-engine.sock");
    await expect(pullOnEngine(pushed.reference, `unix://${absent}`)).rejects.toMatchObject({
      code: "PULL_FAILED",
      message: expect.stringContaining(
        `docker pull ${pushed.reference} failed on the engine at unix://${absent}`,
      ),
    });
  });

  it("a registry that is down: push and pull fail naming the address and how to start one", async () => {
    const down = `127.0.0.1:${await freePort()}`;
    const err = await pushImage({ image: local, registry: down }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: "REGISTRY_UNREACHABLE" });
    const message = (err as Error).message;
    expect(message).toContain(`no registry answers at ${down}`);
    expect(message).toContain("ECONNREFUSED");
    expect(message).toContain("npm run image -- --push");
    expect(message).toContain("LOOM_REGISTRY");
    // Nothing was tagged for a registry that was never reached.
    const tags = await execa("docker", ["images", "--format", "{{.Repository}}", `${down}/${REPO}`]);
    expect(tags.stdout.trim()).toBe("");

    await expect(pullOnEngine(`${down}/${REPO}@sha256:${"b".repeat(64)}`)).rejects.toMatchObject({
      code: "REGISTRY_UNREACHABLE",
      message: expect.stringMatching(
        new RegExp(
          `cannot pull ${down}/${REPO}@sha256:.*reaches no registry at ${down}.*connection refused.*LOOM_REGISTRY`,
        ),
      ),
    });
  });

  it("an image the engine does not have fails with IMAGE_MISSING, saying to build it", async () => {
    await expect(
      pushImage({ image: `${REPO}:absent-${run}`, registry: registry.address }),
    ).rejects.toMatchObject({
      code: "IMAGE_MISSING",
      message: expect.stringContaining("npm run image"),
    });
  });

  it("pushLabImage with no registry starts Loom's own under the state dir, records the reference, and finds it next time", async () => {
    const stateDir = path.join(root, "state");
    const port = await freePort();
    const contentHash = "c".repeat(64);
    const first = await pushLabImage({ image: local, contentHash, stateDir, port });
    expect(first.registry).toBe(`127.0.0.1:${port}`);
    expect(first.tagged).toBe(`127.0.0.1:${port}/${REPO}:${contentHash}`);
    expect(first.ownRegistryPid).toBeGreaterThan(0);
    expect(await readPushedImage(stateDir)).toEqual({
      version: 1,
      image: local,
      registry: `127.0.0.1:${port}`,
      reference: first.reference,
      digest: first.digest,
      contentHash,
      pushedAt: expect.any(String),
    });
    expect(JSON.parse(await readFile(path.join(stateDir, "image", "pushed.json"), "utf8")).reference).toBe(
      first.reference,
    );

    // Left running for the swarm; the next push finds it rather than starting another.
    const second = await pushLabImage({ image: local, contentHash, stateDir, port });
    expect(second.ownRegistryPid).toBe(first.ownRegistryPid);
    expect(second.digest).toBe(first.digest);
    expect(await reapRegistry(loomRegistryDir(stateDir))).toBe(first.ownRegistryPid);
  });

  it("a damaged pushed.json is refused with the command that rewrites it", async () => {
    const stateDir = await mkdtemp(path.join(root, "damaged-"));
    await execa("mkdir", ["-p", path.join(stateDir, "image")]);
    await writeFile(
      path.join(stateDir, "image", "pushed.json"),
      JSON.stringify({ version: 1, reference: "loom-lab:latest" }),
    );
    await expect(readPushedImage(stateDir)).rejects.toMatchObject({
      code: "PUSHED_IMAGE_INVALID",
      message: expect.stringMatching(/reference: expected NAME@sha256.*npm run image -- --push/),
    });
    expect(await readPushedImage(path.join(root, "nothing-pushed"))).toBeUndefined();
  });
});
