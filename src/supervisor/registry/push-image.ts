import { type DockerTarget, docker, engineName, firstLines } from "./docker-cli.ts";
import { RegistryError } from "./errors.ts";
import { repositoryOf, requireDigestReference } from "./reference.ts";
import { manifestDigest, probeRegistry } from "./registry-http.ts";

export interface PushImageOptions extends DockerTarget {
  /** A local image, e.g. `loom-lab:latest`. */
  readonly image: string;
  /** `HOST:PORT` of the registry, e.g. 127.0.0.1:5000. */
  readonly registry: string;
  /** Tag to push under (`npm run image` gives its content hash); default the image id's hex. */
  readonly tag?: string;
  readonly timeoutMs?: number;
}

export interface PushedImage {
  /** `REGISTRY/REPO@sha256:…`: what services are given. */
  readonly reference: string;
  readonly digest: string;
  readonly registry: string;
  /** `REGISTRY/REPO:TAG`, as pushed. */
  readonly tagged: string;
  /** The pushed image's local id. */
  readonly imageId: string;
}

/** How to fix "no registry at ADDRESS", for every message that says it. */
export function registryDownHint(address: string): string {
  return `start Loom's own with \`npm run image -- --push\` (it runs docker-registry under <state>/registry on 127.0.0.1:LOOM_REGISTRY_PORT), or point LOOM_REGISTRY (or \`--push HOST:PORT\`) at a registry that answers; ${address} is what was tried`;
}

/**
 * Tags `image` as REGISTRY/REPO:TAG, pushes it, and returns it pinned by digest: the digest docker
 * reports, checked against the manifest the registry now serves for that tag.
 */
export async function pushImage(opts: PushImageOptions): Promise<PushedImage> {
  const probe = await probeRegistry(opts.registry);
  if (!probe.ok) {
    throw new RegistryError(
      "REGISTRY_UNREACHABLE",
      `no registry answers at ${opts.registry} (${probe.why}): ${registryDownHint(opts.registry)}`,
    );
  }
  const inspected = await docker(opts, ["image", "inspect", "--format", "{{.Id}}", opts.image]);
  if (inspected.exitCode !== 0) {
    throw new RegistryError(
      "IMAGE_MISSING",
      `${engineName(opts)} has no image ${opts.image} to push (${firstLines(inspected.stderr, 1)}); build it first with \`npm run image\``,
    );
  }
  const imageId = inspected.stdout.trim();
  const repository = repositoryOf(opts.image);
  const tag = opts.tag ?? imageId.replace(/^sha256:/, "");
  const tagged = `${opts.registry}/${repository}:${tag}`;

  const tagResult = await docker(opts, ["tag", opts.image, tagged]);
  if (tagResult.exitCode !== 0) {
    throw new RegistryError(
      "PUSH_FAILED",
      `docker tag ${opts.image} ${tagged} failed: ${firstLines(tagResult.stderr)}`,
    );
  }
  const push = await docker(opts, ["push", tagged], opts.timeoutMs ?? 20 * 60_000);
  if (push.exitCode !== 0) {
    throw new RegistryError(
      "PUSH_FAILED",
      `docker push ${tagged} failed on ${engineName(opts)}: ${firstLines(push.all, 4)}; ${registryDownHint(opts.registry)}`,
    );
  }
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1] ?? (await repoDigest(opts, tagged));
  const served = await manifestDigest(probe.url, repository, tag);
  if (digest === undefined || served !== digest) {
    throw new RegistryError(
      "DIGEST_MISMATCH",
      `after pushing ${tagged}, docker reported digest ${digest ?? "(none)"} but ${opts.registry} serves ${served ?? "no manifest"} for it; push again with \`npm run image -- --push ${opts.registry}\``,
    );
  }
  const reference = `${opts.registry}/${repository}@${digest}`;
  requireDigestReference(reference);
  return { reference, digest, registry: opts.registry, tagged, imageId };
}

/** The digest docker recorded for `tagged`'s repository after the push (RepoDigests). */
async function repoDigest(target: DockerTarget, tagged: string): Promise<string | undefined> {
  const result = await docker(target, ["image", "inspect", "--format", "{{json .RepoDigests}}", tagged]);
  if (result.exitCode !== 0) return undefined;
  const name = tagged.slice(0, tagged.lastIndexOf(":"));
  const digests = JSON.parse(result.stdout) as string[] | null;
  return digests?.find((d) => d.startsWith(`${name}@`))?.slice(name.length + 1);
}
