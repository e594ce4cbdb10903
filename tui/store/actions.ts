/**
 * Everything that can happen to the TUI's state. Controllers turn keys, feed frames and client
 * answers into these; the reducer is the only place they take effect.
 */
import type { AgentInfo, ContainerInfo, JobStatus } from '../../src/protocol/index.js';
import type { CommandId } from './keymap.js';
import type {
  Flash,
  LogLine,
  LogTarget,
  NodeConn,
  NodePlan,
  OperationRequest,
  RolloutNodeStatus,
  StatSample,
} from './state.js';

export type ContainerEventAction =
  | 'create'
  | 'start'
  | 'restart'
  | 'die'
  | 'stop'
  | 'kill'
  | 'pause'
  | 'unpause'
  | 'oom'
  | 'health_status'
  | 'destroy'
  | (string & {});

export type Action =
  | { type: 'tick'; now: number }
  | { type: 'resize'; width: number; height: number }
  | { type: 'command'; command: CommandId; char?: string }
  | { type: 'nodeConn'; node: string; conn: NodeConn; error?: string | null; at: number }
  | { type: 'nodeInfo'; node: string; info: AgentInfo; latencyMs: number; at: number }
  | { type: 'nodeProblem'; node: string; problem: string }
  | {
      type: 'nodeJobs';
      node: string;
      jobs: JobStatus[];
      at: number;
      /** Containers dokkup does not manage; omitted: keep the last known list. */
      others?: ContainerInfo[];
    }
  | {
      type: 'statsBatch';
      node: string;
      at: number;
      samples: (StatSample & { id: string })[];
    }
  | {
      type: 'containerEvent';
      node: string;
      at: number;
      id: string;
      job: string | null;
      name: string | null;
      action: ContainerEventAction;
      exitCode?: number | null;
      health?: 'healthy' | 'unhealthy' | 'starting' | null;
    }
  | {
      type: 'operationEvent';
      node: string;
      at: number;
      job: string | null;
      text: string;
      level: 'info' | 'warn' | 'error';
    }
  | { type: 'logLines'; target: LogTarget; lines: Omit<LogLine, 'seq'>[]; dropped?: number }
  | { type: 'flash'; text: string; level: Flash['level'] }
  | { type: 'openChooser'; files: string[] }
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
  | { type: 'rolloutProgress'; node: string; message: string; current?: number; total?: number }
  | { type: 'rolloutNode'; node: string; status: RolloutNodeStatus; message: string | null }
  | { type: 'rolloutFinished'; at: number };
