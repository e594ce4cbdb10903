/**
 * A node's connection as the TUI shows it, decided from two sources: the feed (a WebSocket that
 * stays up) and the HTTP requests of the refresh. Pure; the fleet reducer applies it.
 */
import type { FeedConnectionState } from '../../../src/client/feeds/session.js';
import type { ProbeFailure } from '../actions.js';
import type { NodeConn, NodeEntry } from '../state.js';

/** A fact about a node's reachability: its feed's state, or how an HTTP request to it went. */
export type ConnFact =
  | { source: 'feed'; state: FeedConnectionState; error: string | null }
  | { source: 'http'; status: 'online' | ProbeFailure; error: string | null };

/**
 * The node's connection after a fact, or null when the fact says nothing new about it. Two
 * sources speak: the feed (a WebSocket that stays up) and HTTP requests (the refresh), and
 * either can be up while the other is refused.
 */
export function deriveConn(
  node: Pick<NodeEntry, 'conn' | 'feed'>,
  fact: ConnFact,
): { conn: NodeConn; error: string | null } | null {
  if (fact.source === 'http') {
    switch (fact.status) {
      case 'online':
        // A node answering HTTP is up even before its feed has (re)connected.
        return { conn: 'online', error: null };
      case 'unauthorized':
      case 'untrusted':
        return { conn: fact.status, error: fact.error };
      case 'offline':
        // HTTP failures do not override an open feed.
        return node.feed === 'open' ? null : { conn: 'offline', error: fact.error };
      case 'error':
        // The node answers but cannot work (e.g. Docker is down): a problem, not a connection state.
        return null;
    }
  }
  switch (fact.state) {
    case 'open':
      return { conn: 'online', error: null };
    case 'unauthorized':
    case 'untrusted':
      return { conn: fact.state, error: fact.error };
    case 'offline':
      // The feed gave up for now; whether the node is down is for an HTTP request to say (an
      // agent can answer requests while its feed endpoint is refused, or the other way round).
      return null;
    case 'closed':
      return null;
    case 'connecting':
      // Retries of a feed that never opened say nothing new about a node HTTP already judged.
      return node.conn === 'connecting' ? { conn: 'connecting', error: fact.error } : null;
    case 'reconnecting':
      // A node known to be down stays down until something answers.
      return node.conn === 'offline' || node.conn === 'unauthorized' || node.conn === 'untrusted'
        ? null
        : { conn: 'reconnecting', error: fact.error };
  }
}
