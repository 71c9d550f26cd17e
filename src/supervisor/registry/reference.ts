import { registryAddress } from "../../shared/config/value-types.ts";
import { RegistryError } from "./errors.ts";

/** `NAME@sha256:<64 hex>`: the only form a swarm service is given, so every node runs the same bytes. */
const DIGEST_REFERENCE = /^(?<name>[^\s@]+)@(?<digest>sha256:[0-9a-f]{64})$/;

/** A registry address (`host[:port]`, as docker writes it in front of a repository); undefined when not one. */
export function parseRegistryAddress(raw: string): string | undefined {
  return registryAddress.parse(raw);
}

export const REGISTRY_ADDRESS_ACCEPTED = registryAddress.accepted;

export interface DigestReference {
  /** `127.0.0.1:5000/loom-lab` */
  readonly name: string;
  /** `sha256:…` */
  readonly digest: string;
}

export function parseDigestReference(ref: string): DigestReference | undefined {
  const m = DIGEST_REFERENCE.exec(ref.trim());
  return m?.groups ? { name: m.groups.name as string, digest: m.groups.digest as string } : undefined;
}

/** The reference when it pins a digest; otherwise DIGEST_REQUIRED, saying how to get one. */
export function requireDigestReference(ref: string, what = "the Lab image"): DigestReference {
  const parsed = parseDigestReference(ref);
  if (parsed) return parsed;
  throw new RegistryError(
    "DIGEST_REQUIRED",
    `${what} "${ref}" is not pinned by digest: expected NAME@sha256:<64 hex digits>, e.g. 127.0.0.1:5000/loom-lab@sha256:…; \`npm run image -- --push\` pushes the image and prints one`,
  );
}

/** The registry part of a digest reference (`127.0.0.1:5000`), or undefined when it names none. */
export function registryOf(name: string): string | undefined {
  const slash = name.indexOf("/");
  if (slash < 0) return undefined;
  const first = name.slice(0, slash);
  return first.includes(".") || first.includes(":") || first === "localhost" ? first : undefined;
}

/** `loom-lab:latest` → `loom-lab`; `127.0.0.1:5000/a/b@sha256:…` → `a/b`: the repository, without registry, tag or digest. */
export function repositoryOf(image: string): string {
  const withoutDigest = image.split("@")[0] as string;
  const registry = registryOf(withoutDigest);
  const path = registry ? withoutDigest.slice(registry.length + 1) : withoutDigest;
  const colon = path.lastIndexOf(":");
  return colon > path.lastIndexOf("/") ? path.slice(0, colon) : path;
}

/**
 * The same image at another registry address: the digest names the bytes, not the place, so a reference
 * pushed to 127.0.0.1:PORT is pulled by a node that reaches that registry as, say, 127.0.0.254:PORT.
 */
export function atRegistry(reference: string, registry: string): string {
  const { name, digest } = requireDigestReference(reference);
  return `${registry}/${repositoryOf(name)}@${digest}`;
}
