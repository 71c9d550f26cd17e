import type { ContainerBody } from "./engine-body.ts";

/**
 * The docker-compatible command line (docker behind a context, podman) for a create body
 * (engine-body.ts), so the flags are never written apart from the API's fields. Environment values
 * are NOT on the command line (where any local user could read them in `ps`): each is passed as
 * `-e NAME`, which the CLI fills from its own environment — see `engineEnv`.
 */
export function engineRunArgs(body: ContainerBody, name: string): string[] {
  const host = body.HostConfig;
  const args = ["run", "-d", "--name", name];
  if (host.Init) args.push("--init");
  for (const [k, v] of Object.entries(body.Labels)) args.push("--label", `${k}=${v}`);
  for (const kv of body.Env) args.push("-e", kv.slice(0, kv.indexOf("=")));
  if (body.WorkingDir) args.push("-w", body.WorkingDir);
  for (const bind of host.Binds ?? []) args.push("-v", bind);
  if (host.NetworkMode) args.push("--network", host.NetworkMode);
  if (body.User !== undefined) args.push("--user", body.User);
  for (const cap of host.CapAdd ?? []) args.push("--cap-add", cap);
  for (const key of Object.keys(body.ExposedPorts ?? {})) {
    const port = key.replace(/\/tcp$/, "");
    // Host networking has no publishing; --expose still records the port so inspect can report it.
    if (host.PortBindings?.[key]) args.push("-p", `127.0.0.1::${port}`);
    else args.push("--expose", port);
  }
  if (host.Memory !== undefined) args.push("--memory", bytes(host.Memory));
  if (host.MemorySwap !== undefined) args.push("--memory-swap", bytes(host.MemorySwap));
  if (host.PidsLimit !== undefined) args.push("--pids-limit", String(host.PidsLimit));
  if (host.NanoCpus !== undefined) args.push("--cpus", String(host.NanoCpus / 1e9));
  if (host.CpuShares !== undefined) args.push("--cpu-shares", String(host.CpuShares));
  for (const opt of host.SecurityOpt ?? []) args.push("--security-opt", opt);
  for (const cap of host.CapDrop ?? []) args.push("--cap-drop", cap);
  const [entrypoint] = body.Entrypoint ?? [];
  if (entrypoint !== undefined) args.push("--entrypoint", entrypoint);
  args.push(body.Image, ...body.Cmd);
  return args;
}

const bytes = (n: number) => (n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)}m` : `${n}b`);

/** The CLI's environment for `run`: the values `-e NAME` forwards (added to its own, to reach the daemon). */
export function engineEnv(body: ContainerBody): Record<string, string> {
  return Object.fromEntries(
    body.Env.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
  );
}

/** `ps -a --filter label=k=v ...` printing one id per line. */
export function engineListArgs(labels: Readonly<Record<string, string>>): string[] {
  const args = ["ps", "-a", "--no-trunc", "--format", "{{.ID}}"];
  for (const [k, v] of Object.entries(labels)) args.push("--filter", `label=${k}=${v}`);
  return args;
}
