/**
 * TEST DOUBLE: the node proxy in memory, for the engine's unit tests. It is both the proxy's
 * container (ProxyHost) and its admin API (ProxyAdmin): it reads the Caddy configuration the
 * manager loads to know which containers each port routes to, answers probes from the fake
 * runtime's containers (a running one answers, unless scripted otherwise), and watches the
 * runtime: a container stopped or removed while a loaded route still sends it requests is
 * recorded in `violations` (the one thing a gapless switch must never do).
 */
import type {
  ProxyContainerState,
  ProxyContainerWanted,
  ProxyHost,
} from '../../agent/docker/proxy-container.js';
import type { ProxyAdmin, UpstreamLoad } from '../../agent/proxy/caddy-admin.js';
import type { FakeRuntime } from './container-runtime.js';

interface LoadedServer {
  listen: string[];
  routes: { handle: { handler: string; upstreams?: { dial: string }[] }[] }[];
}

export class FakeProxy implements ProxyHost, ProxyAdmin {
  /** What happened, in order: `ensure 80`, `load shop=a,b`, `probe a 200`, `drain-poll`. */
  readonly events: string[] = [];
  readonly violations: string[] = [];
  private container: ProxyContainerState | null = null;
  private config: Record<string, unknown> | null = null;
  /** Names whose probe answers this status instead of the runtime's view. */
  readonly probeStatus = new Map<string, number>();
  /** Requests in flight per upstream address, taken one off per `upstreams()` call. */
  readonly inFlight = new Map<string, number>();
  /** The next `load` calls fail (Caddy refusing the configuration). */
  failLoads = 0;
  loads = 0;

  constructor(private readonly runtime: FakeRuntime) {
    const previous = runtime.afterCall;
    runtime.afterCall = (call) => {
      previous?.(call);
      if ((call.op !== 'stop' && call.op !== 'remove') || !call.id) return;
      const name = runtime.all().find((c) => c.id === call.id)?.name ?? this.nameOfGone(call.id);
      if (name && this.routed().includes(name)) this.violations.push(`${call.op} ${name} while routed`);
    };
  }

  private readonly names = new Map<string, string>();
  private nameOfGone(id: string): string | undefined {
    return this.names.get(id);
  }

  /** Every container name some port's route sends requests to now. */
  routed(): string[] {
    return Object.values(this.servers())
      .filter((s) => !s.listen.some((l) => l.startsWith('unix/')))
      .flatMap((s) => s.routes.flatMap((r) => r.handle.flatMap((h) => h.upstreams ?? [])))
      .map((u) => u.dial.slice(0, u.dial.lastIndexOf(':')));
  }

  private servers(): Record<string, LoadedServer> {
    const apps = this.config?.['apps'] as { http?: { servers?: Record<string, LoadedServer> } } | undefined;
    return apps?.http?.servers ?? {};
  }

  /** The published ports the proxy container has. */
  get ports(): number[] {
    return this.container?.ports ?? [];
  }

  // ProxyHost

  async inspect(): Promise<ProxyContainerState | null> {
    return this.container;
  }

  async ensure(wanted: ProxyContainerWanted): Promise<{ created: boolean; ports: number[] }> {
    for (const c of this.runtime.all()) this.names.set(c.id, c.name);
    const current = this.container;
    if (current && current.image === wanted.image && wanted.ports.every((p) => current.ports.includes(p)))
      return { created: false, ports: current.ports };
    const ports = [...new Set([...(current?.ports ?? []), ...wanted.ports])].sort((a, b) => a - b);
    this.container = { id: 'proxy', state: 'running', image: wanted.image, ports };
    this.events.push(`ensure ${ports.join(',')}`);
    return { created: true, ports };
  }

  async tail(): Promise<string> {
    return '';
  }

  // ProxyAdmin

  async load(config: Record<string, unknown>): Promise<void> {
    this.loads++;
    if (this.failLoads > 0) {
      this.failLoads--;
      this.events.push('load refused');
      throw new Error('loading config: refused (fake)');
    }
    for (const c of this.runtime.all()) this.names.set(c.id, c.name);
    this.config = config;
    this.events.push(`load ${this.routed().join(',')}`);
  }

  /** Every `name:port` some server of the loaded configuration dials (routes and probe listener). */
  private named(): Set<string> {
    return new Set(
      Object.values(this.servers()).flatMap((s) =>
        s.routes.flatMap((r) => r.handle.flatMap((h) => (h.upstreams ?? []).map((u) => u.dial))),
      ),
    );
  }

  /** Like Caddy: requests in flight are only known for upstreams the loaded configuration names. */
  async upstreams(): Promise<UpstreamLoad[]> {
    const out: UpstreamLoad[] = [];
    const named = this.named();
    for (const [address, n] of this.inFlight) {
      if (!named.has(address)) continue;
      out.push({ address, numRequests: n, fails: 0 });
      this.inFlight.set(address, Math.max(0, n - 1));
    }
    this.events.push('drain-poll');
    return out;
  }

  async probe(container: string): Promise<number> {
    const probeServer = Object.values(this.servers()).find((s) =>
      s.listen.some((l) => l.startsWith('unix/')),
    );
    const reachable = JSON.stringify(probeServer ?? {}).includes(`"${container}"`);
    const running = this.runtime.all().some((c) => c.name === container && c.state === 'running');
    const status = !reachable || !running ? 502 : (this.probeStatus.get(container) ?? 200);
    this.events.push(`probe ${container} ${status}`);
    return status;
  }

  async ready(): Promise<boolean> {
    return this.container !== null;
  }
}
