import path from "node:path";
import { type PushedImage, pushImage } from "./push-image.ts";
import { type PushedImageRecord, writePushedImage } from "./pushed-image.ts";
import { startRegistry } from "./registry-process.ts";

/** Loom's own registry listens here unless LOOM_REGISTRY_PORT says otherwise. */
export const LOOM_REGISTRY_HOST = "127.0.0.1";
export const LOOM_REGISTRY_PORT_DEFAULT = 5000;

/** Loom's own registry's folder in a state dir. */
export const loomRegistryDir = (stateDir: string): string => path.join(stateDir, "registry");

export interface PushLabImageOptions {
  /** The built image, e.g. loom-lab:latest. */
  readonly image: string;
  /** Its content hash (`npm run image`'s), used as the pushed tag and recorded. */
  readonly contentHash?: string;
  readonly stateDir: string;
  /** A registry to push to (`--push HOST:PORT`, else LOOM_REGISTRY); none: Loom's own. */
  readonly registry?: string;
  /** Port of Loom's own registry (LOOM_REGISTRY_PORT). */
  readonly port?: number;
  readonly docker?: string;
  /** The engine that holds the image (the swarm manager's DOCKER_HOST); default the local one. */
  readonly dockerHost?: string;
  readonly log?: (line: string) => void;
}

export interface PushedLabImage extends PushedImage {
  /** Where the record was written: `<state>/image/pushed.json`. */
  readonly recordPath: string;
  readonly record: PushedImageRecord;
  /** Set when Loom's own registry was used: its pid (left running for the swarm to pull from). */
  readonly ownRegistryPid: number | undefined;
}

/**
 * `npm run image -- --push [REGISTRY]` after the build: pushes to the registry given, else starts (or
 * finds) Loom's own under `<state>/registry`, which stays running; records the digest reference.
 */
export async function pushLabImage(opts: PushLabImageOptions): Promise<PushedLabImage> {
  const log = opts.log ?? (() => {});
  let registry = opts.registry;
  let ownRegistryPid: number | undefined;
  if (registry === undefined) {
    const own = await startRegistry({
      dir: loomRegistryDir(opts.stateDir),
      host: LOOM_REGISTRY_HOST,
      port: opts.port ?? LOOM_REGISTRY_PORT_DEFAULT,
    });
    log(
      `${own.adopted ? "using" : "started"} Loom's registry at ${own.address} (pid ${own.pid}, ${loomRegistryDir(opts.stateDir)})`,
    );
    registry = own.address;
    ownRegistryPid = own.pid;
  }
  const pushed = await pushImage({
    image: opts.image,
    registry,
    docker: opts.docker,
    ...(opts.dockerHost ? { dockerHost: opts.dockerHost } : {}),
    ...(opts.contentHash ? { tag: opts.contentHash } : {}),
  });
  const record = {
    version: 1 as const,
    image: opts.image,
    registry,
    reference: pushed.reference,
    digest: pushed.digest,
    ...(opts.contentHash ? { contentHash: opts.contentHash } : {}),
    pushedAt: new Date().toISOString(),
  };
  const recordPath = await writePushedImage(opts.stateDir, record);
  log(`pushed ${pushed.tagged}; recorded ${pushed.reference} in ${recordPath}`);
  return { ...pushed, recordPath, record, ownRegistryPid };
}
