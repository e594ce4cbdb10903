/**
 * The panel registry: the one place that knows which panels exist. Generic code looks a panel up
 * here (`PANEL_SPECS[panel]`) rather than branching on nodes / jobs / containers.
 */
import type { PanelId } from '../state.js';
import { type ContainerRow, containersPanel } from './containers.js';
import { type JobRow, jobsPanel } from './jobs.js';
import { type NodeRow, nodesPanel } from './nodes.js';
import type { PanelSpec } from './spec.js';

/** The row type of each panel. */
export interface RowOf {
  nodes: NodeRow;
  jobs: JobRow;
  containers: ContainerRow;
}

export const PANEL_SPECS: { readonly [P in PanelId]: PanelSpec<RowOf[P]> } = {
  nodes: nodesPanel,
  jobs: jobsPanel,
  containers: containersPanel,
};

/**
 * A panel's spec for code that works on any row (filter, table, detail). Rows handed to it must
 * come from the same spec's `rows`, which is how the generic code uses it.
 */
export function specOf(panel: PanelId): PanelSpec {
  return PANEL_SPECS[panel];
}

export type { ContainerRow, ContainerUsage } from './containers.js';
export type { JobNodeState, JobRow } from './jobs.js';
export type { NodeRow } from './nodes.js';
export type { DrillTarget, PanelSpec, RowBase, StatsScope } from './spec.js';
