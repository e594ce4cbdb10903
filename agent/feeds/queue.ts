/**
 * A subscription's outgoing queue, bounded in items and bytes. When it is full, new items are
 * not stored: they are counted into a gap marker at the point where they were lost, so the client
 * learns how many it missed exactly there (a `dropped {count}` frame). Control frames (acks, end,
 * errors) are never dropped; a subscription emits only a handful of them.
 */
import type { AgentFrame } from '../../src/protocol/feeds.js';

export type QueueEntry<T> =
  | { kind: 'item'; value: T; bytes: number }
  | { kind: 'gap'; count: number }
  | { kind: 'control'; frame: AgentFrame };

export interface QueueLimits {
  maxItems: number;
  maxBytes: number;
}

export class BoundedQueue<T> {
  private entries: QueueEntry<T>[] = [];
  private head = 0;
  private itemCount = 0;
  private byteCount = 0;
  private droppedTotal = 0;

  constructor(private readonly limits: QueueLimits) {}

  get items(): number {
    return this.itemCount;
  }
  get bytes(): number {
    return this.byteCount;
  }
  /** Items lost to a full queue over the queue's life. */
  get dropped(): number {
    return this.droppedTotal;
  }
  get isEmpty(): boolean {
    return this.head >= this.entries.length;
  }
  get isFull(): boolean {
    return this.itemCount >= this.limits.maxItems || this.byteCount >= this.limits.maxBytes;
  }

  /** Stores the item, or counts it as dropped when the queue is full. Returns whether it was kept. */
  push(value: T, bytes: number): boolean {
    if (this.isFull) {
      this.drop(1);
      return false;
    }
    this.forcePush(value, bytes);
    return true;
  }

  /** Stores the item even when full (the caller applies backpressure at the source instead). */
  forcePush(value: T, bytes: number): void {
    this.entries.push({ kind: 'item', value, bytes });
    this.itemCount++;
    this.byteCount += bytes;
  }

  /** Counts items lost before they reached the queue (at the current position). */
  drop(count: number): void {
    if (count <= 0) return;
    this.droppedTotal += count;
    const last = this.entries[this.entries.length - 1];
    if (last && last.kind === 'gap' && this.entries.length - 1 >= this.head) last.count += count;
    else this.entries.push({ kind: 'gap', count });
  }

  pushControl(frame: AgentFrame): void {
    this.entries.push({ kind: 'control', frame });
  }

  peek(): QueueEntry<T> | undefined {
    return this.entries[this.head];
  }

  shift(): QueueEntry<T> | undefined {
    const entry = this.entries[this.head];
    if (!entry) return undefined;
    this.head++;
    if (entry.kind === 'item') {
      this.itemCount--;
      this.byteCount -= entry.bytes;
    }
    // Compact now and then instead of paying for Array.shift on every item.
    if (this.head >= 1024 && this.head * 2 >= this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    return entry;
  }

  clear(): void {
    this.entries = [];
    this.head = 0;
    this.itemCount = 0;
    this.byteCount = 0;
  }
}
