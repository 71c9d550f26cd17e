/**
 * docker-registry's configuration for Loom's own registry, as JSON (which its YAML reader accepts):
 * filesystem storage under the registry's folder, plain http on one loopback address, no auth, no
 * deletes, no access log (the log holds warnings and errors only, so it stays small).
 */
export interface RegistryConfigOptions {
  /** Where blobs and manifests are stored. */
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
}

export function renderRegistryConfig(opts: RegistryConfigOptions): string {
  const config = {
    version: "0.1",
    log: { level: "warn", accesslog: { disabled: true } },
    storage: {
      filesystem: { rootdirectory: opts.dataDir },
      delete: { enabled: false },
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: { addr: `${opts.host}:${opts.port}` },
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}
