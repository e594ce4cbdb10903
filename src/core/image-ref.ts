/**
 * Which registry an image reference is pulled from, the way Docker decides it: the first path
 * component is a registry when it holds a `.` or a `:` or is `localhost`; otherwise the image is
 * on Docker Hub. Registry servers are compared in one spelling (`normalizeRegistryServer`), so
 * `https://index.docker.io/v1/`, `index.docker.io`, `registry-1.docker.io` and `docker.io` are
 * one registry, as are `https://ghcr.io` and `ghcr.io`.
 */

/** Docker Hub, as dokkup names it. */
export const DOCKER_HUB = 'docker.io';
/** The key Docker Hub's credentials have in a Docker client config (`docker login` writes it). */
export const DOCKER_HUB_CONFIG_KEY = 'https://index.docker.io/v1/';

const HUB_ALIASES = new Set([
  'docker.io',
  'index.docker.io',
  'registry-1.docker.io',
  'registry.hub.docker.com',
]);

/** `ghcr.io/org/app:1` → `ghcr.io`; `nginx:alpine` → `docker.io`; `127.0.0.1:5000/x` → `127.0.0.1:5000`. */
export function registryOfImage(image: string): string {
  const name = image.split('@')[0]!;
  const slash = name.indexOf('/');
  if (slash === -1) return DOCKER_HUB;
  const first = name.slice(0, slash);
  if (first.includes('.') || first.includes(':') || first === 'localhost')
    return normalizeRegistryServer(first);
  return DOCKER_HUB;
}

/**
 * A registry server as an operator may write it (`https://ghcr.io`, `ghcr.io/`, `GHCR.io`,
 * `https://index.docker.io/v1/`) → `host[:port]` in lower case, Docker Hub's aliases → `docker.io`.
 * This is what the Docker CLI does to the keys of its config (`ConvertToHostname`).
 */
export function normalizeRegistryServer(server: string): string {
  let s = server.trim();
  s = s.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const slash = s.indexOf('/');
  if (slash !== -1) s = s.slice(0, slash);
  s = s.toLowerCase();
  return HUB_ALIASES.has(s) ? DOCKER_HUB : s;
}

/** Whether `server` (after normalising) is a plausible registry host: `host`, `host:port`, `[v6]:port`. */
export function isRegistryServer(server: string): boolean {
  return /^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)(:\d{1,5})?$/.test(
    normalizeRegistryServer(server),
  );
}

/** The images' registries, each once, in order. */
export function registriesOfImages(images: readonly string[]): string[] {
  return [...new Set(images.map(registryOfImage))];
}
