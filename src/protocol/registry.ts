// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${VAR}` is the interpolation syntax itself, not a template
/**
 * Registry credentials: as operators write them in an inventory or a job file
 * (`registries: [{server, username, password}]`, values usually `${ENV}`), and as they travel
 * with a deploy, plan or rollback request (`registryAuth`) to the agent, which hands them to the
 * engine's pull (`X-Registry-Auth`) and keeps them nowhere.
 */
import { z } from 'zod';

export const RegistryFileSchema = z
  .strictObject({
    server: z
      .string()
      .min(1, 'must not be empty')
      .describe('The registry: ghcr.io, registry.example.com:5000, docker.io (Docker Hub)'),
    username: z.string().min(1, 'must not be empty').describe('User name, usually ${ENV_VAR}'),
    password: z
      .string()
      .min(1, 'must not be empty')
      .describe('Password or access token: write ${ENV_VAR}, never the secret itself'),
  })
  .describe('Credentials for one registry; they win over the Docker client configuration');
export type RegistryFile = z.infer<typeof RegistryFileSchema>;

/** Bounds keep a hostile request small; real tokens are a few kB at most. */
const MAX_SECRET = 16 * 1024;

/** What travels with a request, one entry per registry. */
export const RegistryAuthSchema = z
  .strictObject({
    /** `host[:port]`, Docker Hub as `docker.io` (see src/core/image-ref.ts). */
    server: z.string().min(1).max(255),
    username: z.string().max(1024).optional(),
    password: z.string().max(MAX_SECRET).optional(),
    /** An OAuth refresh token some registries hand out instead of a password. */
    identitytoken: z.string().max(MAX_SECRET).optional(),
  })
  .refine((a) => (a.username !== undefined && a.password !== undefined) || a.identitytoken !== undefined, {
    message: 'needs username and password, or identitytoken',
  });
export type RegistryAuth = z.infer<typeof RegistryAuthSchema>;

/** Credentials for the registries of one request's images. */
export const RegistryAuthListSchema = z.array(RegistryAuthSchema).max(32);
