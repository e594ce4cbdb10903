/**
 * `dokkup tui`: wires the pure store, the blessed view and the controllers (keys, feeds,
 * refresh, actions) for one inventory, and resolves when the operator quits. Keys and the
 * controllers dispatch facts; the reducer's effects go through the one effect runner.
 */
import { Cluster } from '../src/client/cluster.js';
import { boundHeapGrowthForFleet } from '../src/client/heap.js';
import type { Inventory } from '../src/protocol/inventory.js';
import { ActionsController } from './controllers/actions.js';
import { AuditReader } from './controllers/audit.js';
import { runEffects } from './controllers/effects.js';
import { FeedsController, summaryIntervalMs } from './controllers/feeds.js';
import { RefreshController } from './controllers/refresh.js';
import { RenderLoop } from './controllers/render-loop.js';
import { resolveKey } from './store/keymap.js';
import { initialState, type TuiState } from './store/state.js';
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
  /**
   * Called after each frame that painted something, with the state it shows (the benchmark
   * times first screens and key presses with it; nothing else needs it).
   */
  onFrame?: (state: TuiState) => void;
  /** Called once the app is running, with what the benchmark reads (subscriptions held, …). */
  onStart?: (handle: TuiHandle) => void;
}

/** What a running TUI shows of itself (for the benchmark). */
export interface TuiHandle {
  readonly feeds: FeedsController;
  readonly store: Store;
}

export async function runTui(options: TuiOptions): Promise<void> {
  boundHeapGrowthForFleet();
  const viewOptions: ViewOptions = { color: options.color };
  if (options.input) viewOptions.input = options.input;
  if (options.output) viewOptions.output = options.output;
  const view = new TuiView(viewOptions);
  const nodes = options.inventory.nodes;
  const store = new Store(
    initialState(
      nodes.map((n) => ({ name: n.name, location: n.location })),
      {
        inventoryName: options.inventoryName,
        inventoryPath: options.inventoryPath,
        color: options.color,
        summaryIntervalMs: summaryIntervalMs(nodes.length),
      },
      Date.now(),
      { width: view.width(), height: view.height() },
      options.inventory.groups,
    ),
  );
  const onFrame = options.onFrame;
  const loop = new RenderLoop(
    store,
    onFrame
      ? {
          render: (state) => {
            const painted = view.render(state);
            if (painted) onFrame(state);
            return painted;
          },
        }
      : view,
  );
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
  // What the feeds say is handed over once per frame, as one batch.
  const feeds = new FeedsController(store, nodes, {
    requestFlush: (urgency) => loop.schedule(urgency),
    deferReconcile: true,
  });
  loop.beforeFrame(() => feeds.flush());
  loop.afterFrame(() => feeds.afterFrame());
  options.onStart?.({ feeds, store });

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
      else loop.input();
    });
    view.onResize((width, height) => {
      store.dispatch({ type: 'resize', width, height });
      loop.frame();
    });
    loop.frame();
    refresh.start();
  });
}
