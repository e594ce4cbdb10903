/**
 * The node proxy's container on a real Docker engine (dockerode): one per node, named
 * `dokkup-proxy`, on its own user-defined network, publishing the ports routes serve, with its
 * state directory (admin socket, probe socket, Caddy's autosaved configuration) bind-mounted from
 * the agent's data directory. Restart policy `always`: it outlives the agent and the engine.
 */
import { hostname } from 'node:os';
import type Docker from 'dockerode';
import { DokkupError } from '../../src/core/errors.js';
import { PROXY_CONTAINER_NAME } from '../../src/core/proxy.js';
import type { ContainerState } from '../../src/protocol/api.js';

export const PROXY_CONTAINER = PROXY_CONTAINER_NAME;
export const PROXY_NETWORK = 'dokkup-proxy';
/** On the proxy's container and network: dokkup made them (the container carries no job labels). */
export const LABEL_PROXY = 'dokkup.proxy';
/** Where the state directory is mounted inside the proxy container. */
export const PROXY_STATE_MOUNT = '/data';

export interface ProxyContainerWanted {
  image: string;
  /** Host ports to publish (each on the same port inside). */
  ports: readonly number[];
  /** The host directory mounted at PROXY_STATE_MOUNT. */
  stateDir: string;
  /** The initial configuration file (inside the container) for a first start without autosave. */
  initialConfig: string;
  /** `uid:gid` the proxy runs as (the agent's own, so it can use the sockets); undefined: the image's. */
  user?: string;
}

export interface ProxyContainerState {
  id: string;
  state: ContainerState;
  image: string;
  ports: number[];
}

/** What the proxy manager needs from the engine (a fake implements it in unit tests). */
export interface ProxyHost {
  /** The proxy container as it is, or null when there is none. */
  inspect(): Promise<ProxyContainerState | null>;
  /**
   * Makes the proxy container run `wanted`: creates it, starts it when stopped, and replaces it
   * when its image differs or it does not publish every wanted port. Returns true when it was
   * created (or replaced): it then starts from its autosaved configuration, or the initial one.
   * `ports`: every port it publishes (it keeps ports no route uses any more).
   */
  ensure(wanted: ProxyContainerWanted): Promise<{ created: boolean; ports: number[] }>;
  /** Its last log lines (stdout and stderr), for error messages. */
  tail(lines: number): Promise<string>;
}

export class DockerProxyHost implements ProxyHost {
  constructor(
    private readonly docker: Docker,
    /** The runtime's network creation (one check-and-create per name at a time). */
    private readonly ensureNetwork: (name: string) => Promise<void>,
    /** Pulls the image when the engine lacks it. */
    private readonly ensureImage: (image: string) => Promise<void>,
  ) {}

  async inspect(): Promise<ProxyContainerState | null> {
    try {
      const c = await this.docker.getContainer(PROXY_CONTAINER).inspect();
      const ports = Object.keys(c.HostConfig.PortBindings ?? {})
        .map((k) => Number(k.split('/')[0]))
        .sort((a, b) => a - b);
      return { id: c.Id, state: c.State.Status as ContainerState, image: c.Config.Image, ports };
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return null;
      throw proxyError('inspecting the proxy container', err);
    }
  }

  async ensure(wanted: ProxyContainerWanted): Promise<{ created: boolean; ports: number[] }> {
    const current = await this.inspect();
    if (current && current.image === wanted.image && wanted.ports.every((p) => current.ports.includes(p))) {
      if (current.state !== 'running') await this.start(current.id);
      return { created: false, ports: current.ports };
    }
    try {
      await this.ensureNetwork(PROXY_NETWORK);
      await this.ensureImage(wanted.image);
      if (current) await this.docker.getContainer(current.id).remove({ force: true });
      // Ports it published before stay published: a port a job stopped using costs nothing, and
      // keeping it avoids replacing the proxy again when the job comes back.
      const ports = [
        ...new Set([...(current?.image === wanted.image ? current.ports : []), ...wanted.ports]),
      ];
      const bindings: Record<string, { HostPort: string }[]> = {};
      const exposed: Record<string, object> = {};
      for (const port of ports) {
        bindings[`${port}/tcp`] = [{ HostPort: String(port) }];
        exposed[`${port}/tcp`] = {};
      }
      const stateDir = await this.hostPathOf(wanted.stateDir);
      const container = await this.docker.createContainer({
        name: PROXY_CONTAINER,
        Image: wanted.image,
        Cmd: ['caddy', 'run', '--resume', '--config', wanted.initialConfig],
        Env: [
          `XDG_CONFIG_HOME=${PROXY_STATE_MOUNT}/config`,
          `XDG_DATA_HOME=${PROXY_STATE_MOUNT}/data`,
          `HOME=${PROXY_STATE_MOUNT}`,
        ],
        ...(wanted.user ? { User: wanted.user } : {}),
        Labels: { [LABEL_PROXY]: 'true', 'dokkup.managed': 'true' },
        ExposedPorts: exposed,
        HostConfig: {
          PortBindings: bindings,
          Binds: [`${stateDir}:${PROXY_STATE_MOUNT}`],
          RestartPolicy: { Name: 'always' },
          NetworkMode: PROXY_NETWORK,
        },
      });
      await this.start(container.id);
      return { created: true, ports: ports.sort((a, b) => a - b) };
    } catch (err) {
      throw proxyError('starting the proxy container', err);
    }
  }

  /**
   * Where `path` (as this agent sees it) is on the engine's host: the same path, unless the agent
   * itself runs in a container of this engine with `path` under one of its mounts (the agent's
   * image keeps its data directory in a volume or a bind at `/config`): then the mount's source.
   * A bind of the proxy's state directory is resolved by the engine on its host.
   */
  private async hostPathOf(path: string): Promise<string> {
    let mounts: { Source?: string; Destination?: string }[];
    try {
      mounts = (await this.docker.getContainer(hostname()).inspect()).Mounts ?? [];
    } catch {
      return path; // not in a container of this engine
    }
    const mount = mounts
      .filter(
        (m) => m.Source && m.Destination && (path === m.Destination || path.startsWith(`${m.Destination}/`)),
      )
      .sort((a, b) => b.Destination!.length - a.Destination!.length)[0];
    return mount ? `${mount.Source}${path.slice(mount.Destination!.length)}` : path;
  }

  private async start(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).start();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 304) return;
      throw proxyError('starting the proxy container', err);
    }
  }

  async tail(lines: number): Promise<string> {
    try {
      const out = await this.docker
        .getContainer(PROXY_CONTAINER)
        .logs({ stdout: true, stderr: true, tail: lines, follow: false });
      // Multiplexed stream: 8-byte frame headers before each chunk.
      const buf = Buffer.isBuffer(out) ? out : Buffer.from(String(out));
      const parts: string[] = [];
      for (let at = 0; at + 8 <= buf.length; ) {
        const size = buf.readUInt32BE(at + 4);
        parts.push(buf.toString('utf8', at + 8, at + 8 + size));
        at += 8 + size;
      }
      return parts.join('');
    } catch {
      return '';
    }
  }
}

function proxyError(what: string, err: unknown): DokkupError {
  const e = err as { json?: { message?: string }; message?: string };
  return new DokkupError('internal', `${what}: ${e?.json?.message ?? e?.message ?? String(err)}`);
}
