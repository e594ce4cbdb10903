import { describe, expect, it } from 'vitest';
import {
  initialPace,
  nextPace,
  PACE_BUSY,
  PACE_FLOOR,
  PACE_IDLE,
  PACE_START,
  type PaceSample,
  paceBounds,
} from './fan-out-pace.js';

const bounds = paceBounds(512);
const busy: PaceSample = { utilization: 1, running: 64, queued: 1_000 };
const waiting: PaceSample = { utilization: 0.3, running: 64, queued: 1_000 };

describe('the fan-out pace', () => {
  it('starts at 64, within the bounds', () => {
    expect(initialPace(bounds)).toBe(PACE_START);
    expect(initialPace(paceBounds(10))).toBe(10);
    expect(initialPace(paceBounds(1))).toBe(1);
    expect(paceBounds(8)).toEqual({ min: 8, max: 8 });
    expect(paceBounds(512)).toEqual({ min: PACE_FLOOR, max: 512 });
  });

  it('goes down while the event loop is busy, to the floor and no further', () => {
    let limit = 512;
    const seen: number[] = [];
    for (let i = 0; i < 40; i++) {
      limit = nextPace(limit, { ...busy, running: limit }, bounds);
      seen.push(limit);
    }
    expect(seen[0]).toBe(460);
    expect(seen.every((value, i) => i === 0 || value <= seen[i - 1]!)).toBe(true);
    expect(limit).toBe(PACE_FLOOR);
    expect(nextPace(PACE_FLOOR, busy, bounds)).toBe(PACE_FLOOR);
  });

  it('goes up by half while the loop waits and nodes queue behind a full limit, to --parallel', () => {
    expect(nextPace(64, waiting, bounds)).toBe(96);
    let limit = 64;
    for (let i = 0; i < 20; i++) limit = nextPace(limit, { ...waiting, running: limit }, bounds);
    expect(limit).toBe(512);
    expect(nextPace(1, { utilization: 0, running: 1, queued: 5 }, paceBounds(2))).toBe(2);
  });

  it('holds when the limit is not what holds the nodes back, or the load is in between', () => {
    // Nothing queued: more slots would stay empty.
    expect(nextPace(64, { ...waiting, queued: 0 }, bounds)).toBe(64);
    // Slots free: the limit is not reached.
    expect(nextPace(64, { ...waiting, running: 40 }, bounds)).toBe(64);
    // Busy enough that more would not help, not so busy that fewer would not hurt.
    const between = (PACE_BUSY + PACE_IDLE) / 2;
    expect(nextPace(200, { utilization: between, running: 200, queued: 500 }, bounds)).toBe(200);
  });

  it('at the thresholds: busy from PACE_BUSY on, idle below PACE_IDLE', () => {
    expect(nextPace(100, { utilization: PACE_BUSY, running: 100, queued: 9 }, bounds)).toBe(90);
    expect(nextPace(100, { utilization: PACE_IDLE, running: 100, queued: 9 }, bounds)).toBe(100);
    expect(nextPace(100, { utilization: PACE_IDLE - 0.01, running: 100, queued: 9 }, bounds)).toBe(150);
  });

  it('a fixed pace (min = max) never moves', () => {
    const fixed = { min: 8, max: 8 };
    expect(nextPace(8, busy, fixed)).toBe(8);
    expect(nextPace(8, { ...waiting, running: 8 }, fixed)).toBe(8);
  });
});
