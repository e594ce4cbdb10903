import Docker from 'dockerode';

/**
 * A dockerode client for `DOCKER_HOST` (unix://, tcp://, http://) or the default socket.
 * dockerode reads DOCKER_HOST itself when given no options; we pass it explicitly so callers
 * (and tests) can point one process at several engines.
 */
export function connectDocker(dockerHost: string | undefined = process.env['DOCKER_HOST']): Docker {
  if (!dockerHost) return new Docker({ socketPath: '/var/run/docker.sock' });
  if (dockerHost.startsWith('unix://')) return new Docker({ socketPath: dockerHost.slice('unix://'.length) });
  const url = new URL(dockerHost.replace(/^tcp:/, 'http:'));
  return new Docker({ host: url.hostname, port: Number(url.port || 2375), protocol: 'http' });
}
