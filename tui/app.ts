/**
 * `dokkup tui`: wires the pure store, the blessed view and the controllers (keys, feeds,
 * refresh, actions) for one inventory, and resolves when the operator quits. Keys and the
 * controllers dispatch facts; the reducer's effects go through the one effect runner.
 */
import { Cluster } from '../src/client/cluster.js';
import type { Inventory } from '../src/protocol/inventory.js';
import { ActionsController } from './controllers/actions.js';
import { AuditReader } from './controllers/audit.js';
import { runEffects } from './controllers/effects.js';
import { FeedsController } from './controllers/feeds.js';
import { RefreshController } from './controllers/refresh.js';
import { RenderLoop } from './controllers/render-loop.js';
import { resolveKey } from './store/keymap.js';
import { initialState } from './store/state.js';
import { Store } from './store/store.js';
import { TuiView, type ViewOptions } from './views/screen.js';

export interface TuiOptions {
  inventory: Inventory;
  /** Shown in the header (`inventory.yaml`, `embedded`). */
  inventoryName: string;
  /** For the equivalent CLI commands; null when there is no inventory file (embedded). */
  inventoryPath: string | null;
  embedded: boolean;
  jobFiles: readonly string[];
  cwd: string;
  color: boolean;
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
}

export async function runTui(options: TuiOptions): Promise<void> {
  const viewOptions: ViewOptions = { color: options.color };
  if (options.input) viewOptions.input = options.input;
  if (options.output) viewOptions.output = options.output;
  const view = new TuiView(viewOptions);
  const store = new Store(
    initialState(
      options.inventory.nodes.map((n) => ({ name: n.name, location: n.location })),
      { inventoryName: options.inventoryName, inventoryPath: options.inventoryPath, color: options.color },
      Date.now(),
      { width: view.width(), height: view.height() },
    ),
  );
  const loop = new RenderLoop(store, view);
  const cluster = new Cluster(options.inventory.nodes, {
    client: { connectTimeoutMs: 3_000, requestTimeoutMs: 15_000, userAgent: 'dokkup-tui' },
  });
  const refresh = new RefreshController(store, cluster, options.inventory.nodes);
  const actions = new ActionsController(store, cluster, {
    inventory: options.inventory,
    inventoryPath: options.inventoryPath,
    jobFiles: options.jobFiles,
    cwd: options.cwd,
    embedded: options.embedded,
  });
  const audit = new AuditReader(store, cluster, options.inventory.nodes);
  const stopEffects = runEffects(store, { refresh, actions, audit });
  // Last: its sessions report their state at once, and the effects must have somewhere to go.
  const feeds = new FeedsController(store, options.inventory.nodes);

  // The clock moves once a second: uptimes, flash expiry and stale stats follow it. A frame is
  // only painted when some text actually changed.
  const clock = setInterval(() => store.dispatch({ type: 'tick', now: Date.now() }), 1000);

  return new Promise<void>((resolve) => {
    let done = false;
    const quit = () => {
      if (done) return;
      done = true;
      clearInterval(clock);
      loop.stop();
      stopEffects();
      refresh.stop();
      audit.stop();
      feeds.close();
      cluster.close();
      view.destroy();
      resolve();
    };
    view.onKey((key) => {
      const resolved = resolveKey(store.state, key);
      if (!resolved) return;
      store.dispatch({
        type: 'command',
        command: resolved.command,
        ...(resolved.char !== undefined ? { char: resolved.char } : {}),
      });
      if (store.state.quitting) quit();
    });
    view.onResize((width, height) => {
      store.dispatch({ type: 'resize', width, height });
      loop.frame();
    });
    loop.frame();
    refresh.start();
  });
}
