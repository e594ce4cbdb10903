/**
 * Only what is watched is streamed, at fleet size: the feeds controller between fake sessions
 * and the real store, over 2,000 nodes, while the containers table is scrolled end to end and back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { agentInfo, container, jobStatus } from '../../test/sim/agent-values.js';
import type { FeedFact } from '../store/actions.js';
import { layoutOf, tableBodyHeight } from '../store/layout.js';
import { FakeFeedSession, inventoryNode, storeFor } from './controllers.fixture.js';
import { FeedsController } from './feeds.js';

const T = 1_700_000_100_000;
const SIZE = 2_000;
const names = Array.from({ length: SIZE }, (_, i) => `n${String(i + 1).padStart(4, '0')}`);
const controllers: FeedsController[] = [];

afterEach(() => {
  for (const c of controllers.splice(0)) c.close();
});

function setup() {
  const nodes = names.map((name, i) => inventoryNode(name, 10_000 + i));
  const { store } = storeFor(nodes, T);
  const sessions = new Map(nodes.map((n) => [n.name, new FakeFeedSession(n.name)]));
  const feeds = new FeedsController(store, nodes, {
    makeSession: (node) => sessions.get(node.name)!.asSession(),
    now: () => T,
  });
  controllers.push(feeds);
  // Every node's feed sends its first summary: one container of web each.
  const facts: FeedFact[] = names.map((name, i) => ({
    type: 'nodeSummary',
    node: name,
    at: T,
    summary: {
      at: T,
      info: agentInfo({ hostname: name }),
      jobs: [jobStatus('web', [container('web', i + 1)])],
      others: [],
      usage: null,
    },
  }));
  store.dispatch({ type: 'feedBatch', facts });
  const open = () => {
    const nodesWithStats: string[] = [];
    for (const [name, s] of sessions) if (s.activeStats() > 0) nodesWithStats.push(name);
    return nodesWithStats;
  };
  const total = () => [...sessions.values()].reduce((sum, s) => sum + s.stats.length, 0);
  return { store, feeds, open, total, sessions };
}

describe('subscriptions follow the view, without leaks', () => {
  it('scrolling the containers end to end and back moves the stats subscriptions and leaves the same count open', () => {
    const { store, feeds, open, total } = setup();
    store.dispatch({ type: 'command', command: 'focus.containers' });
    const height = tableBodyHeight(layoutOf(store.state).containers!);
    const before = open();
    // What is on screen: the first rows' nodes, one subscription each; summaries for every node.
    expect(before).toEqual(names.slice(0, height));
    expect(feeds.open.summary).toBe(SIZE);
    let peak = 0;
    const seen = new Set<string>(before);
    // Page by page to the end…
    for (let i = 0; i < SIZE / height + 2; i++) {
      store.dispatch({ type: 'command', command: 'move.pageDown' });
      const now = open();
      peak = Math.max(peak, now.length);
      for (const n of now) seen.add(n);
    }
    expect(open()).toEqual(names.slice(SIZE - height));
    // …and back, with the big jump.
    store.dispatch({ type: 'command', command: 'move.top' });
    const after = open();
    expect(after).toEqual(before);
    expect(after).toHaveLength(before.length);
    // Never more than a screenful open at once, though every node was on screen once.
    expect(peak).toBeLessThanOrEqual(height);
    expect(seen.size).toBe(SIZE);
    // Each page's subscriptions were ended, not left behind (the fake keeps every one it made).
    expect(total()).toBeGreaterThan(SIZE);
    expect(feeds.open.stats).toBe(before.length);
    expect(feeds.open.summary).toBe(SIZE);
  });
});
