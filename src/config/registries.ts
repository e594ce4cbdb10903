/**
 * `registries:` entries of an inventory or a job file → the credentials they give, one per
 * registry (servers in one spelling: `https://ghcr.io/` and `ghcr.io` are one registry).
 */
import { InputError } from '../core/errors.js';
import { isRegistryServer, normalizeRegistryServer } from '../core/image-ref.js';
import { type FieldPath, formatFieldPath } from '../core/spec.js';
import type { RegistryAuth, RegistryFile } from '../protocol/registry.js';
import { positionOf, type YamlSource } from './yaml-source.js';

/** The entries' credentials; problems (a bad server, a registry listed twice) are pushed to `errors`. */
export function registriesOf(
  src: YamlSource,
  entries: readonly RegistryFile[] | undefined,
  errors: InputError[],
  at: FieldPath = ['registries'],
): RegistryAuth[] {
  const out: RegistryAuth[] = [];
  const seen = new Map<string, number>();
  (entries ?? []).forEach((entry, i) => {
    const path = [...at, i, 'server'];
    const fail = (message: string) =>
      errors.push(new InputError(message, positionOf(src, path), formatFieldPath(path)));
    if (!isRegistryServer(entry.server)) {
      fail('expected a registry host like ghcr.io, registry.example.com:5000 or docker.io');
      return;
    }
    const server = normalizeRegistryServer(entry.server);
    const first = seen.get(server);
    if (first !== undefined) {
      fail(`registry ${server} is already listed at ${formatFieldPath([...at, first])}`);
      return;
    }
    seen.set(server, i);
    out.push({ server, username: entry.username, password: entry.password });
  });
  return out;
}
