/**
 * What a plan would change on a node, as coloured text for the CLI. The lines themselves (the
 * action, one line per changed field, values of environment, labels and masked fields never
 * shown) come from src/core/format.ts, shared with the TUI.
 */
import { changeGroups, type NodePlan } from '../../core/format.js';
import { plainStyle, type Style } from '../io.js';

export { describeAction, describeDiff, describePlan, type NodePlan, nodeList } from '../../core/format.js';

/** `Changes:` then, per distinct plan, `nodes: action` and its field lines. */
export function renderChanges(nodes: readonly NodePlan[], style: Style = plainStyle): string[] {
  const out = ['Changes:', ''];
  const groups = changeGroups(nodes);
  for (const { names, lines } of groups) {
    const [action, ...details] = lines;
    out.push(`${style.bold(names)}: ${action}`);
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
  if (groups.length === 0) out.push('(no node could be planned)');
  return out;
}
