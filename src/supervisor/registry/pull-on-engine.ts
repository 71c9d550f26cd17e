import { type DockerTarget, docker, engineName, firstLines } from "./docker-cli.ts";
import { RegistryError } from "./errors.ts";
import { registryDownHint } from "./push-image.ts";
import { registryOf, requireDigestReference } from "./reference.ts";
import { probeRegistry } from "./registry-http.ts";

/**
 * Loads a digest-pinned image onto one engine (`docker --host H pull REF@sha256:…`), as a swarm node
 * does when a service names it; returns the image id there. Loopback registries need no engine
 * setting: docker allows plain http to 127.0.0.0/8 by default.
 */
export async function pullOnEngine(
  reference: string,
  dockerHost?: string,
  opts: { docker?: string; timeoutMs?: number } = {},
): Promise<string> {
  const { name } = requireDigestReference(reference);
  const target: DockerTarget = { docker: opts.docker, dockerHost };
  const registry = registryOf(name);
  if (registry) {
    const probe = await probeRegistry(registry);
    if (!probe.ok) {
      throw new RegistryError(
        "REGISTRY_UNREACHABLE",
        `cannot pull ${reference}: no registry answers at ${registry} (${probe.why}): ${registryDownHint(registry)}`,
      );
    }
  }
  const pull = await docker(target, ["pull", "--quiet", reference], opts.timeoutMs ?? 10 * 60_000);
  if (pull.exitCode !== 0) {
    throw new RegistryError(
      "PULL_FAILED",
      `docker pull ${reference} failed on ${engineName(target)}: ${firstLines(pull.all, 4)}`,
    );
  }
  const id = await docker(target, ["image", "inspect", "--format", "{{.Id}}", reference]);
  return id.stdout.trim();
}
