/**
 * The feeds' side of Docker, with dockerode: events, stats and log streams of dokkup-managed
 * containers. Decoding lives in `feed-runtime.ts`; this file only opens and closes streams.
 */
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { LABEL_JOB, LABEL_VERSION } from '../../src/core/labels.js';
import type { ContainerEvent } from '../../src/protocol/feeds.js';
import { engineRef } from './engine-ref.js';
import {
  type Closer,
  DockerLogDecoder,
  type FeedContainer,
  type FeedRuntime,
  formatSince,
  JsonLineSplitter,
  type LogRequest,
  type LogStreamControl,
  type RawLogLine,
  type StatsSample,
  toContainerEvent,
  toContainerStats,
} from './feed-runtime.js';

/** The dockerode client type, re-exported so callers outside agent/docker need not import dockerode. */
export type DockerClient = Docker;

function errorOf(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/**
 * Calls `onEnd` exactly once, whichever of end / close / error comes first, and lets `close()`
 * destroy the stream without reporting an error for it.
 */
function watchStream(
  stream: Readable,
  onData: (chunk: Buffer) => void,
  onEnd: (error?: Error) => void,
): Closer {
  let done = false;
  const finish = (error?: Error) => {
    if (done) return;
    done = true;
    onEnd(error);
  };
  stream.on('data', (chunk: Buffer | string) => {
    if (!done) onData(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  });
  stream.on('end', () => finish());
  stream.on('close', () => finish());
  stream.on('error', (err) => finish(errorOf(err)));
  return {
    close() {
      done = true;
      stream.destroy();
    },
  };
}

function toFeedContainer(
  info: {
    Id: string;
    Names?: string[];
    Labels?: Record<string, string>;
    State?: string;
  },
  unmanagedToo = false,
): FeedContainer | null {
  const job = info.Labels?.[LABEL_JOB] ?? (unmanagedToo ? '' : undefined);
  if (job === undefined) return null;
  return {
    id: info.Id,
    name: (info.Names?.[0] ?? info.Id.slice(0, 12)).replace(/^\//, ''),
    job,
    version: info.Labels?.[LABEL_VERSION] ?? null,
    running: info.State === 'running',
  };
}

export class DockerFeedRuntime implements FeedRuntime {
  constructor(private readonly docker: Docker) {}

  async listContainers(filter: { job?: string | undefined; runningOnly: boolean }): Promise<FeedContainer[]> {
    const label = filter.job === undefined ? LABEL_JOB : `${LABEL_JOB}=${filter.job}`;
    const list = await this.docker.listContainers({ all: !filter.runningOnly, filters: { label: [label] } });
    return list.map((c) => toFeedContainer(c)).filter((c): c is FeedContainer => c !== null);
  }

  async findContainer(ref: string): Promise<FeedContainer | null> {
    try {
      const info = await this.docker.getContainer(engineRef(ref)).inspect();
      return toFeedContainer(
        {
          Id: info.Id,
          Names: [info.Name],
          Labels: info.Config.Labels ?? {},
          State: info.State.Running ? 'running' : info.State.Status,
        },
        true,
      );
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return null;
      throw err;
    }
  }

  async watchEvents(handlers: {
    onEvent(event: ContainerEvent): void;
    onEnd(error?: Error): void;
  }): Promise<Closer> {
    const stream = (await this.docker.getEvents({
      filters: { type: ['container'], label: [LABEL_JOB] },
    })) as unknown as Readable;
    const splitter = new JsonLineSplitter((value) => {
      const event = toContainerEvent(value);
      if (event) handlers.onEvent(event);
    });
    return watchStream(stream, (chunk) => splitter.push(chunk), handlers.onEnd);
  }

  async watchStats(
    container: FeedContainer,
    handlers: { onSample(sample: StatsSample): void; onEnd(error?: Error): void },
  ): Promise<Closer> {
    const stream = (await this.docker
      .getContainer(engineRef(container.id))
      .stats({ stream: true })) as unknown as Readable;
    const splitter = new JsonLineSplitter((value) => {
      const sample = toContainerStats(value, container);
      if (sample) handlers.onSample(sample);
    });
    return watchStream(stream, (chunk) => splitter.push(chunk), handlers.onEnd);
  }

  async streamLogs(
    container: FeedContainer,
    request: LogRequest,
    handlers: { onLine(line: RawLogLine): void; onEnd(error?: Error): void },
  ): Promise<LogStreamControl> {
    const info = await this.docker.getContainer(engineRef(container.id)).inspect();
    const options: Record<string, unknown> = {
      follow: request.follow,
      stdout: true,
      stderr: true,
      timestamps: true,
      tail: request.tail === undefined ? 'all' : String(request.tail),
    };
    if (request.since !== undefined) options['since'] = formatSince(request.since);
    // dockerode buffers the whole body unless asked for a stream; we always want the stream so
    // that a long history flows through our bounded queues instead of into one big Buffer.
    const stream = await new Promise<Readable>((resolve, reject) => {
      this.docker.modem.dial(
        {
          path: `/containers/${encodeURIComponent(container.id)}/logs?`,
          method: 'GET',
          isStream: true,
          statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
          options,
        },
        (err: unknown, data: unknown) => (err ? reject(errorOf(err)) : resolve(data as Readable)),
      );
    });
    const decoder = new DockerLogDecoder(info.Config.Tty === true, handlers.onLine);
    const closer = watchStream(
      stream,
      (chunk) => decoder.push(chunk),
      (error) => {
        decoder.end();
        handlers.onEnd(error);
      },
    );
    return {
      close: () => closer.close(),
      pause: () => stream.pause(),
      resume: () => stream.resume(),
    };
  }
}

export function createDockerFeedRuntime(docker: Docker): FeedRuntime {
  return new DockerFeedRuntime(docker);
}
