import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { settleOnce } from './settle.js';

describe('settleOnce', () => {
  it('takes the first outcome only and removes the listeners once settled', async () => {
    const emitter = new EventEmitter();
    const waiting = settleOnce<string>((settle) => {
      const onReady = (value: string) => settle.resolve(value);
      const onFail = (error: Error) => settle.reject(error);
      emitter.on('ready', onReady);
      emitter.on('fail', onFail);
      return () => {
        emitter.off('ready', onReady);
        emitter.off('fail', onFail);
      };
    });
    emitter.emit('ready', 'first');
    emitter.emit('fail', new Error('too late'));
    await expect(waiting).resolves.toBe('first');
    expect(emitter.listenerCount('ready') + emitter.listenerCount('fail')).toBe(0);
  });

  it('cleans up when the outcome was known before start returned', async () => {
    let cleanups = 0;
    const value = await settleOnce<number>((settle) => {
      settle.resolve(7);
      return () => {
        cleanups++;
      };
    });
    expect(value).toBe(7);
    expect(cleanups).toBe(1);
  });

  it('rejects with the onAbort error when the signal aborts first, and cleans up', async () => {
    const controller = new AbortController();
    let cleanups = 0;
    const waiting = settleOnce<void>(
      () => () => {
        cleanups++;
      },
      { signal: controller.signal, onAbort: () => new Error('did not open in time') },
    );
    controller.abort();
    await expect(waiting).rejects.toThrow('did not open in time');
    expect(cleanups).toBe(1);
  });

  it('does not start at all on a signal that has already aborted', async () => {
    let started = false;
    const waiting = settleOnce<void>(
      () => {
        started = true;
        return undefined;
      },
      { signal: AbortSignal.abort(new Error('gone')) },
    );
    await expect(waiting).rejects.toThrow('gone');
    expect(started).toBe(false);
  });

  it('turns a throw inside start into a rejection', async () => {
    await expect(
      settleOnce<void>(() => {
        throw new Error('bad wiring');
      }),
    ).rejects.toThrow('bad wiring');
  });
});
