import { describe, expect, it } from 'vitest';
import { gateExpired, healthVerdict, type InspectedContainer } from './health-verdict.js';

const inspect = (over: Partial<InspectedContainer> = {}): InspectedContainer => ({
  id: '0123456789abcdef',
  state: 'running',
  health: 'none',
  exitCode: null,
  restartCount: 0,
  healthLog: null,
  ...over,
});
const plain = { gated: false, minHealthyMs: 1000 };
const checked = { gated: true, minHealthyMs: 1000 };

describe('healthVerdict: what one inspection of a new container means', () => {
  it('exited or dead fails at once, with the exit code', () => {
    expect(healthVerdict(inspect({ state: 'exited', exitCode: 3 }), plain, 0, null)).toEqual({
      verdict: 'failed',
      code: 'start_failed',
      message: 'new container 0123456789ab exited with code 3',
    });
    expect(healthVerdict(inspect({ state: 'dead' }), checked, 0, null)).toEqual({
      verdict: 'failed',
      code: 'start_failed',
      message: 'new container 0123456789ab exited with code ?',
    });
  });

  it('a restart (counted, or restarting now) fails at once, even while it runs again', () => {
    for (const c of [inspect({ restartCount: 1 }), inspect({ state: 'restarting' })]) {
      expect(healthVerdict(c, plain, 5000, 0)).toEqual({
        verdict: 'failed',
        code: 'start_failed',
        message: 'new container 0123456789ab crashed and was restarted',
      });
    }
  });

  it('with a health check: unhealthy fails (with the check output), healthy passes, starting waits', () => {
    expect(
      healthVerdict(inspect({ health: 'unhealthy', healthLog: 'curl: refused' }), checked, 0, null),
    ).toEqual({
      verdict: 'failed',
      code: 'unhealthy',
      message: 'new container 0123456789ab is unhealthy: curl: refused',
    });
    expect(healthVerdict(inspect({ health: 'unhealthy' }), checked, 0, null)).toMatchObject({
      message: 'new container 0123456789ab is unhealthy',
    });
    expect(healthVerdict(inspect({ health: 'healthy' }), checked, 0, null)).toEqual({ verdict: 'ready' });
    expect(healthVerdict(inspect({ health: 'starting' }), checked, 99_000, null)).toEqual({
      verdict: 'pending',
      runningSince: null,
    });
    // Healthy but not running (created, paused) is not ready.
    expect(healthVerdict(inspect({ state: 'paused', health: 'healthy' }), checked, 0, null).verdict).toBe(
      'pending',
    );
  });

  it('without a health check, min_healthy_time counts from the first sight of it running', () => {
    const first = healthVerdict(inspect(), plain, 10_000, null);
    expect(first).toEqual({ verdict: 'pending', runningSince: 10_000 });
    // Just under: not yet.
    expect(healthVerdict(inspect(), plain, 10_999, 10_000)).toEqual({
      verdict: 'pending',
      runningSince: 10_000,
    });
    // At and over: passes.
    expect(healthVerdict(inspect(), plain, 11_000, 10_000)).toEqual({ verdict: 'ready' });
    expect(healthVerdict(inspect(), plain, 12_500, 10_000)).toEqual({ verdict: 'ready' });
  });

  it('without a health check and min_healthy_time 0, running is enough at once', () => {
    expect(healthVerdict(inspect(), { gated: false, minHealthyMs: 0 }, 7, null)).toEqual({
      verdict: 'ready',
    });
  });

  it('without a health check, a container not running yet waits and starts no clock; health is ignored', () => {
    expect(healthVerdict(inspect({ state: 'created' }), plain, 5000, null)).toEqual({
      verdict: 'pending',
      runningSince: null,
    });
    expect(
      healthVerdict(inspect({ health: 'unhealthy' }), { gated: false, minHealthyMs: 0 }, 0, null),
    ).toEqual({
      verdict: 'ready',
    });
  });
});

describe('gateExpired: when the gate gives up', () => {
  const rules = { gated: false, healthyDeadlineMs: 20_000 };
  it('not before or at the deadline, nor with nothing pending', () => {
    expect(gateExpired(2, rules, 1000, 21_000)).toBeNull();
    expect(gateExpired(0, rules, 1000, 99_000)).toBeNull();
  });
  it('after the deadline, naming how many and what they were waited for', () => {
    expect(gateExpired(2, rules, 1000, 21_001)).toEqual({
      code: 'unhealthy',
      message: '2 new container(s) not running within 20s',
    });
    expect(gateExpired(1, { gated: true, healthyDeadlineMs: 1500 }, 0, 1501)?.message).toBe(
      '1 new container(s) not healthy within 2s',
    );
  });
});
