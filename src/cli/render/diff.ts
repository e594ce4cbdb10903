/**
 * What a plan would change on a node, as text: the action, then one line per changed field.
 * Environment and label values are never shown (the agent sends keys only: they may be
 * secrets). Nodes with the same plan are printed once, under a list of their names.
 */

import { terminalText } from '../../core/terminal-text.js';
import type { Plan, SpecDiff } from '../../protocol/api.js';
import { plainStyle, type Style } from '../io.js';

/** The first line: what the node would do. */
export function describeAction(plan: Plan): string {
  const versions = plan.versionFrom && plan.versionTo && plan.versionFrom !== plan.versionTo;
  const move = versions
    ? `${plan.versionFrom} -> ${plan.versionTo}`
    : (plan.versionTo ?? plan.versionFrom ?? '');
  const count = plan.running !== plan.desired ? `, containers ${plan.running} -> ${plan.desired}` : '';
  const strategy = plan.strategy ? `, ${plan.strategy}` : '';
  switch (plan.action) {
    case 'fresh':
      return `fresh deploy of ${plan.versionTo ?? '?'}: create ${plan.desired} container${plural(plan.desired)}`;
    case 'update':
      return `update ${move}${count}${strategy}`;
    case 'scale':
      return `scale ${move}: containers ${plan.running} -> ${plan.desired}`;
    case 'start':
      return `start ${plan.desired - plan.running} stopped container${plural(plan.desired - plan.running)} of ${move}`;
    case 'rollback':
      return plan.changes ? `rollback ${move}${count}${strategy}` : 'nothing to roll back';
    case 'stop':
      return plan.changes ? `stop ${plan.running} container${plural(plan.running)}` : 'nothing to stop';
    case 'purge':
      return plan.changes
        ? `stop and remove ${plan.total} container${plural(plan.total)} and the job's history`
        : 'nothing to purge';
    default:
      return 'no changes';
  }
}

function plural(n: number): string {
  return n === 1 ? '' : 's';
}

function keys(marker: string, what: string, list: readonly string[]): string[] {
  return list.length ? [`${marker} ${what}: ${[...list].sort().join(', ')}`] : [];
}

function change(what: string, from: string | null, to: string | null, none: string): string {
  return `~ ${what}: ${from ?? none} -> ${to ?? none}`;
}

/** The field lines of a diff (without the action line). */
export function describeDiff(diff: SpecDiff): string[] {
  const lines: string[] = [];
  if (diff.image) lines.push(change('image', diff.image.from, diff.image.to, '(none)'));
  if (diff.imageIdChanged) lines.push('~ image: the tag now points at a different image (re-pulled)');
  if (diff.count) lines.push(`~ count: ${diff.count.from ?? 0} -> ${diff.count.to}`);
  lines.push(...keys('+', 'environment', diff.environment.added));
  lines.push(...keys('-', 'environment', diff.environment.removed));
  lines.push(...keys('~', 'environment', diff.environment.changed));
  lines.push(...keys('+', 'labels', diff.labels.added));
  lines.push(...keys('-', 'labels', diff.labels.removed));
  lines.push(...keys('~', 'labels', diff.labels.changed));
  if (diff.ports) lines.push(change('ports', diff.ports.from, diff.ports.to, '(none)'));
  if (diff.command) lines.push(change('command', diff.command.from, diff.command.to, '(image default)'));
  if (diff.entrypoint)
    lines.push(change('entrypoint', diff.entrypoint.from, diff.entrypoint.to, '(image default)'));
  if (diff.stop_grace_period)
    lines.push(
      change('stop_grace_period', diff.stop_grace_period.from, diff.stop_grace_period.to, '(default 10s)'),
    );
  if (diff.stop_signal)
    lines.push(change('stop_signal', diff.stop_signal.from, diff.stop_signal.to, '(image default)'));
  if (diff.init) lines.push(change('init', diff.init.from, diff.init.to, '(engine default)'));
  if (diff.other.length) lines.push(`~ ${[...diff.other].sort().join(', ')}`);
  return lines;
}

/** Action line, field lines and warnings of one node's plan. */
export function describePlan(plan: Plan): string[] {
  return [
    describeAction(plan),
    ...(plan.diff ? describeDiff(plan.diff) : []).map((line) => `  ${line}`),
    ...plan.warnings.map((warning) => `  ! ${warning}`),
  ].map((line) => terminalText(line));
}

/** `lab1, lab2, lab3` or, for long lists, `lab1, lab2, … and 998 more`. */
export function nodeList(names: readonly string[], max = 8): string {
  if (names.length <= max) return names.join(', ');
  return `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

export interface NodePlan {
  name: string;
  plan: Plan;
}

/** `Changes:` then, per distinct plan, `nodes: action` and its field lines. */
export function renderChanges(nodes: readonly NodePlan[], style: Style = plainStyle): string[] {
  const groups = new Map<string, { names: string[]; lines: string[] }>();
  for (const { name, plan } of nodes) {
    const lines = describePlan(plan);
    const key = lines.join('\n');
    const group = groups.get(key);
    if (group) group.names.push(name);
    else groups.set(key, { names: [name], lines });
  }
  const out = ['Changes:', ''];
  for (const { names, lines } of groups.values()) {
    const [action, ...details] = lines;
    out.push(`${style.bold(nodeList(names))}: ${action}`);
    for (const detail of details) {
      const marker = detail.trimStart()[0];
      const color =
        marker === '+'
          ? style.green
          : marker === '-'
            ? style.red
            : marker === '!'
              ? style.yellow
              : style.cyan;
      out.push(color(detail));
    }
  }
  if (groups.size === 0) out.push('(no node could be planned)');
  return out;
}
