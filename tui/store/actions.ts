/**
 * Everything that can happen to the TUI's state. Controllers dispatch facts as they find them —
 * a key's command, a feed's connection state, a feed event, a stats batch, log lines, what an
 * HTTP request to a node answered, the answers to the effects they were asked to carry out — and
 * the reducer alone decides what they mean (a node's connectivity, what to refresh, …).
 */

import type { NodeLogLine } from '../../src/client/feeds/merge.js';
import type { FeedConnectionState } from '../../src/client/feeds/session.js';
import type { NodeStatus } from '../../src/core/outcome.js';
import type { ContainerStats, FeedEvent, NodeSummary } from '../../src/protocol/feeds.js';
import type { AgentInfo, AuditEntry, ContainerInfo, JobStatus, Phase } from '../../src/protocol/index.js';
import type { CommandId } from './keymap.js';
import type { Flash, LogTarget, NodePlan, OperationRequest, RolloutNodeStatus } from './state.js';

/** The status an HTTP request to a node failed with (`reachabilityOf` of the client's error). */
export type ProbeFailure = Exclude<NodeStatus, 'online' | 'skipped'>;

export type Action =
  | { type: 'tick'; now: number }
  | { type: 'resize'; width: number; height: number }
  | { type: 'command'; command: CommandId; char?: string }
  // Facts from a node's feed session.
  | { type: 'feedState'; node: string; state: FeedConnectionState; error: string | null; at: number }
  | { type: 'feedEvent'; node: string; at: number; event: FeedEvent }
  /** A stats batch as the agent sent it; `at` is our clock's arrival time. */
  | { type: 'statsBatch'; node: string; at: number; containers: ContainerStats[] }
  /** A node's summary as its feed sent it (what changed, and its usage); `at` is our clock's. */
  | { type: 'nodeSummary'; node: string; at: number; summary: NodeSummary }
  /** The node's agent predates summaries: its job list and usage come over HTTP and stats. */
  | { type: 'summaryUnsupported'; node: string; at: number }
  /** A round trip on the node's feed (a ping's pong), in ms. */
  | { type: 'feedRtt'; node: string; rttMs: number }
  /** Facts from many feeds gathered between two frames, applied in order as one change. */
  | { type: 'feedBatch'; facts: FeedFact[] }
  /** Log lines for `target`, in time order (merged across containers and nodes). */
  | { type: 'logLines'; target: LogTarget; lines: NodeLogLine[]; dropped?: number }
  /** A node's audit entries since the time asked for (answer to a `readAudit` effect). */
  | { type: 'auditRead'; node: string; entries: AuditEntry[] }
  // Facts from HTTP requests to a node (info, job list, other containers).
  | {
      type: 'nodeProbed';
      node: string;
      at: number;
      info: AgentInfo;
      /** Round-trip time of the info request. */
      latencyMs: number;
      jobs: JobStatus[];
      /** Containers dokkup does not manage; omitted: keep the last known list. */
      others?: ContainerInfo[];
    }
  | { type: 'nodeProbeFailed'; node: string; at: number; failure: ProbeFailure; error: string }
  // Answers to effects.
  | { type: 'flash'; text: string; level: Flash['level'] }
  | { type: 'jobFilesListed'; files: string[] }
  | { type: 'planStarted'; request: OperationRequest; title: string }
  | {
      type: 'planReady';
      request: OperationRequest;
      title: string;
      summary: string[];
      nodes: NodePlan[];
      command: string;
    }
  | { type: 'planFailed'; request: OperationRequest; error: string }
  | {
      type: 'rolloutProgress';
      node: string;
      message: string;
      current?: number;
      total?: number;
      reverting?: boolean;
      /** The progress line's phase (pull, create, start, health, …): the board counts nodes per phase. */
      phase?: Phase;
    }
  | { type: 'rolloutWave'; index: number; count: number; phase: 'rollout' | 'revert' }
  | {
      type: 'rolloutNode';
      node: string;
      status: RolloutNodeStatus;
      message: string | null;
      phase?: 'rollout' | 'revert';
    }
  | { type: 'rolloutFinished'; at: number; after?: string[] };

/** What a feed session tells about its node (one action each, or gathered in a `feedBatch`). */
export type FeedFact = Extract<
  Action,
  { type: 'feedState' | 'feedEvent' | 'statsBatch' | 'nodeSummary' | 'summaryUnsupported' | 'feedRtt' }
>;
