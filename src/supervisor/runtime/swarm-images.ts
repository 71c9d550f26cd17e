import { pushImage } from "../registry/push-image.ts";
import { loomRegistryDir, pushLabImage } from "../registry/push-lab-image.ts";
import { parseDigestReference } from "../registry/reference.ts";
import { reapRegistry } from "../registry/registry-process.ts";
import { EngineApi } from "./engine-api.ts";
import { RuntimeError } from "./runtime.ts";

/**
 * How the swarm runtime gets a reference every node can pull: a local image is pushed to LOOM_REGISTRY,
 * or to Loom's own registry (started under `<state>/registry` when none runs), and run by digest. The
 * push is done once per image id, so a rebuilt `loom-lab:latest` is pushed again and an unchanged one
 * is not.
 */
export interface RegistryResolverOptions {
  readonly stateDir: string;
  /** LOOM_REGISTRY; undefined: Loom's own on 127.0.0.1:port. */
  readonly registry: string | undefined;
  /** LOOM_REGISTRY_PORT. */
  readonly port: number;
  /** The manager's DOCKER_HOST, where the image was built. */
  readonly host?: string;
  readonly log?: (line: string) => void;
}

export interface RegistryResolver {
  readonly resolveImage: (image: string) => Promise<string>;
  /** Stops Loom's own registry if this resolver pushed to it: it serves the swarm while Loom runs. */
  close(): Promise<void>;
}

export function registryResolver(options: RegistryResolverOptions): RegistryResolver {
  let started: number | undefined;
  const api = new EngineApi(options.host === undefined ? {} : { host: options.host });
  const byId = new Map<string, Promise<string>>();
  const resolveImage = async (image: string): Promise<string> => {
    if (parseDigestReference(image)) return image;
    const found = await api.json<{ Id: string }>("GET", `/images/${encodeURIComponent(image)}/json`);
    if (!found)
      throw new RuntimeError(
        "INVALID_SPEC",
        `image ${image} is not on the swarm manager (${api.socketPath}): build it there first (\`npm run image\`)`,
      );
    let ref = byId.get(found.Id);
    if (!ref) {
      const docker = options.host ? { dockerHost: options.host } : {};
      ref = (
        options.registry === undefined
          ? pushLabImage({
              image,
              stateDir: options.stateDir,
              port: options.port,
              ...(options.log ? { log: options.log } : {}),
            }).then((p) => {
              if (p.ownRegistryPid !== undefined) started = p.ownRegistryPid;
              return p;
            })
          : pushImage({ image, registry: options.registry, ...docker })
      ).then((p) => p.reference);
      ref.catch(() => byId.delete(found.Id));
      byId.set(found.Id, ref);
    }
    return ref;
  };
  return {
    resolveImage,
    close: async () => {
      if (started !== undefined) await reapRegistry(loomRegistryDir(options.stateDir));
      started = undefined;
    },
  };
}
