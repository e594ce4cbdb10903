/**
 * The blessed screen: fixed widgets placed by the pure layout, filled from selectors only. Each
 * frame sets a widget's content only when its text changed, and asks blessed to paint only when
 * something did, so an idle screen costs (almost) nothing. Tables hold only their visible rows.
 *
 * This folder is the only place that imports blessed / blessed-contrib.
 */
import blessed from 'blessed';
import contrib, { type LineElement } from 'blessed-contrib';
import { sparkline } from '../store/format.js';
import { keyNameOf } from '../store/keymap.js';
import { detailContentSize, innerSize, layoutOf, type Rect } from '../store/layout.js';
import { footerLine, overlayView, statusLine } from '../store/overlays.js';
import type { Segment } from '../store/segments.js';
import { eventLines, infoLines, statsSeries, TAB_TITLES } from '../store/select/detail.js';
import { headerSegments } from '../store/select/header.js';
import { logView } from '../store/select/logs.js';
import { tableView } from '../store/select/table.js';
import { DETAIL_TABS, PANELS, type PanelId, type TuiState } from '../store/state.js';
import { cells, escapeTags, type Markup, markup, segments, tableRow } from './markup.js';

type Box = blessed.Widgets.BoxElement;

export interface ViewOptions {
  color: boolean;
  /** Default: the process's stdin/stdout. Tests and the benchmark pass their own. */
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  /** terminfo name; default from TERM. */
  terminal?: string;
}

export class TuiView {
  readonly screen: blessed.Widgets.Screen;
  private readonly m: Markup;
  private readonly color: boolean;
  private readonly header: Box;
  private readonly tables: Record<PanelId, Box>;
  private readonly detail: Box;
  private readonly status: Box;
  private readonly footer: Box;
  private readonly overlay: Box;
  private charts: { cpu: LineElement; mem: LineElement } | null = null;
  private chartsData = '';
  private chartsRect = '';
  private readonly content = new Map<Box, string>();
  private readonly labels = new Map<Box, string>();
  private readonly places = new Map<blessed.Widgets.BlessedElement, string>();
  private dirty = true;
  /** Frames painted (for the benchmark). */
  frames = 0;

  constructor(options: ViewOptions) {
    this.color = options.color;
    this.m = markup(options.color);
    this.screen = blessed.screen({
      smartCSR: true,
      fullUnicode: true,
      autoPadding: false,
      warnings: false,
      title: 'dokkup',
      dockBorders: false,
      // blessed's typings swap input and output.
      ...(options.input ? { input: options.input as never } : {}),
      ...(options.output ? { output: options.output as never } : {}),
      ...(options.terminal ? { terminal: options.terminal } : {}),
    });
    const plain = (extra: blessed.Widgets.BoxOptions = {}): Box =>
      blessed.box({ parent: this.screen, tags: true, wrap: false, ...extra } as blessed.Widgets.BoxOptions);
    const panel = (): Box =>
      plain({
        border: { type: 'line' },
        style: { border: { fg: this.color ? 'gray' : undefined } },
      } as blessed.Widgets.BoxOptions);
    this.header = plain({ style: this.color ? { bg: 'blue', fg: 'white' } : {} });
    this.tables = { nodes: panel(), jobs: panel(), containers: panel() };
    this.detail = panel();
    this.status = plain();
    this.footer = plain();
    this.overlay = plain({
      border: { type: 'line' },
      hidden: true,
      style: this.color ? { border: { fg: 'cyan' }, bg: 'black' } : {},
    } as blessed.Widgets.BoxOptions);
  }

  onKey(handler: (key: string) => void): void {
    this.screen.on(
      'keypress',
      (ch: string | undefined, key: blessed.Widgets.Events.IKeyEventArg | undefined) => {
        const name = keyNameOf(ch, key);
        if (name) handler(name);
      },
    );
  }

  onResize(handler: (width: number, height: number) => void): void {
    this.screen.on('resize', () => handler(this.width(), this.height()));
  }

  width(): number {
    return Number(this.screen.width);
  }

  height(): number {
    return Number(this.screen.height);
  }

  /** Draws a frame; returns true when something was painted. */
  render(state: TuiState): boolean {
    this.draw(state);
    if (!this.dirty) return false;
    this.dirty = false;
    this.frames++;
    this.screen.render();
    // Write the frame now rather than on the next tick: the frame's cost is all in this call.
    (this.screen as unknown as { program: { flush(): void } }).program.flush();
    return true;
  }

  destroy(): void {
    this.screen.destroy();
  }

  // -------------------------------------------------------------------------------------------

  private setContent(box: Box, text: string): void {
    if (this.content.get(box) === text) return;
    this.content.set(box, text);
    box.setContent(text);
    this.dirty = true;
  }

  private setLabel(box: Box, text: string): void {
    if (this.labels.get(box) === text) return;
    this.labels.set(box, text);
    box.setLabel(text);
    this.dirty = true;
  }

  private place(el: blessed.Widgets.BlessedElement, rect: Rect | null): void {
    const key = rect ? `${rect.left},${rect.top},${rect.width},${rect.height}` : 'hidden';
    if (this.places.get(el) === key) return;
    this.places.set(el, key);
    this.dirty = true;
    if (!rect) {
      el.hide();
      return;
    }
    el.left = rect.left;
    el.top = rect.top;
    el.width = rect.width;
    el.height = rect.height;
    el.show();
  }

  private setFocusStyle(box: Box, focused: boolean): void {
    const fg = this.color ? (focused ? 'cyan' : 'gray') : undefined;
    const style = box.style as { border?: { fg?: string } };
    if (style.border && style.border.fg !== fg) {
      style.border.fg = fg;
      this.dirty = true;
    }
  }

  private line(list: readonly Segment[]): string {
    return segments(this.m, list);
  }

  private draw(state: TuiState): void {
    const layout = layoutOf(state);
    const width = state.screen.width;
    this.place(this.header, layout.header);
    this.place(this.status, layout.status);
    this.place(this.footer, layout.footer);
    this.setContent(this.header, cells(this.m, headerSegments(state)));
    this.setContent(this.status, this.clip(statusLine(state), width));
    this.setContent(this.footer, this.clip(footerLine(state), width));

    for (const panel of PANELS) this.drawTable(state, panel);
    this.drawDetail(state);
    this.drawOverlay(state);
  }

  /** Cuts a row of segments to `width` cells. */
  private clip(list: readonly Segment[], width: number): string {
    const out: Segment[] = [];
    let left = width;
    for (const seg of list) {
      if (left <= 0) break;
      const chars = Array.from(seg.text);
      out.push({ ...seg, text: chars.slice(0, left).join('') });
      left -= chars.length;
    }
    return this.line(out);
  }

  private drawTable(state: TuiState, panel: PanelId): void {
    const box = this.tables[panel];
    const view = tableView(state, panel);
    this.place(box, layoutOf(state)[panel]);
    if (!view) return;
    this.setFocusStyle(box, view.focused);
    this.setLabel(box, `${view.focused && !this.color ? '▶' : ' '}${view.title} `);
    const rows = [this.m.bold(escapeTags(view.header))];
    if (view.empty) rows.push(this.m.tone(view.empty, 'dim'));
    for (const line of view.lines) rows.push(tableRow(this.m, line, view.columns, view.focused));
    this.setContent(box, rows.join('\n'));
  }

  private drawDetail(state: TuiState): void {
    const layout = layoutOf(state);
    const rect = layout.detail;
    this.place(this.detail, rect);
    if (!rect) {
      this.showCharts(null);
      return;
    }
    const focused = state.focus === 'detail';
    this.setFocusStyle(this.detail, focused);
    const tab = state.detail.tab;
    const inner = innerSize(rect);
    const tabs = DETAIL_TABS.map((t) => {
      const title = ` ${TAB_TITLES[t]} `;
      return t === tab ? this.m.inverse(title) : this.m.tone(title, 'dim');
    }).join(' ');
    const compactHint = layout.compact ? this.m.tone('  esc: back to the tables', 'dim') : '';
    const { width, height } = detailContentSize(state);
    let body: string[] = [];
    let foot = '';
    let title = 'Detail';
    if (tab === 'logs') {
      const view = logView(state, width, height);
      title = `Logs: ${view.title}`;
      body = view.rows.map((r) => this.line(r));
      if (!state.logs.target) body = [this.m.tone('Select a container or a job and press l.', 'dim')];
      else if (view.rows.length === 0) body = [this.m.tone('waiting for log lines…', 'dim')];
      foot = this.m.tone(view.status, 'dim');
    } else if (tab === 'events') {
      title = 'Events (newest first)';
      body = eventLines(state, height).map((r) => this.clip(r, width));
    } else if (tab === 'info') {
      title = 'Info';
      body = infoLines(state)
        .slice(state.detail.scroll)
        .slice(0, height)
        .map((l) => escapeTags(Array.from(l).slice(0, width).join('')));
    } else {
      const series = statsSeries(state);
      title = series ? `Stats: ${series.title}` : 'Stats';
      if (!series) body = [this.m.tone('Select a container, job or node.', 'dim')];
      else if (!this.color) {
        // NO_COLOR: the graphs as text, so nothing is drawn in colour.
        const w = Math.max(10, width - 20);
        const cpuMax = Math.max(1, ...series.cpu);
        const memMax = Math.max(1, ...series.memMiB);
        body = [
          `CPU %  now ${series.cpu.at(-1)}  max ${cpuMax}`,
          sparkline(series.cpu, w, cpuMax),
          '',
          `MEM MiB  now ${series.memMiB.at(-1)}  max ${memMax}`,
          sparkline(series.memMiB, w, memMax),
        ];
      }
      this.showCharts(series && this.color ? { series, rect, inner } : null);
    }
    if (tab !== 'stats') this.showCharts(null);
    this.setLabel(this.detail, `${focused && !this.color ? '▶' : ' '}${escapeTags(title)} `);
    const lines = [tabs + compactHint, ...body.slice(0, height)];
    while (lines.length < inner.height - 1) lines.push('');
    lines.length = Math.max(1, inner.height - 1);
    lines.push(foot);
    this.setContent(this.detail, lines.join('\n'));
  }

  private showCharts(
    what: {
      series: NonNullable<ReturnType<typeof statsSeries>>;
      rect: Rect;
      inner: { width: number; height: number };
    } | null,
  ): void {
    if (!what) {
      if (this.charts && !this.charts.cpu.hidden) {
        this.charts.cpu.hide();
        this.charts.mem.hide();
        this.dirty = true;
      }
      return;
    }
    const { rect } = what;
    const top = rect.top + 2;
    const height = Math.max(6, rect.height - 4);
    const half = Math.floor((rect.width - 2) / 2);
    const cpuRect = { left: rect.left + 1, top, width: half, height };
    const memRect = { left: rect.left + 1 + half, top, width: rect.width - 2 - half, height };
    const key = JSON.stringify([cpuRect, memRect]);
    // blessed-contrib sizes its canvas when the chart is attached: a new size needs new charts.
    if (!this.charts || this.chartsRect !== key) {
      if (this.charts) {
        this.charts.cpu.detach();
        this.charts.mem.detach();
      }
      const make = (label: string, line: string, r: Rect) => {
        const chart = contrib.line({
          ...r,
          label,
          showLegend: false,
          minY: 0,
          numYLabels: 4,
          style: { line, text: 'white', baseline: 'gray' },
          border: { type: 'line' },
        } as never);
        this.screen.append(chart);
        return chart;
      };
      this.charts = { cpu: make(' CPU % ', 'yellow', cpuRect), mem: make(' MEM MiB ', 'cyan', memRect) };
      this.chartsRect = key;
      this.chartsData = '';
    }
    const data = JSON.stringify(what.series);
    if (data !== this.chartsData || this.charts.cpu.hidden) {
      this.chartsData = data;
      this.charts.cpu.show();
      this.charts.mem.show();
      this.charts.cpu.setFront();
      this.charts.mem.setFront();
      this.charts.cpu.setData([{ title: 'cpu', x: what.series.x, y: what.series.cpu }]);
      this.charts.mem.setData([{ title: 'mem', x: what.series.x, y: what.series.memMiB }]);
      this.dirty = true;
    }
  }

  private drawOverlay(state: TuiState): void {
    const view = overlayView(state);
    if (!view) {
      this.place(this.overlay, null);
      return;
    }
    const w = Math.max(20, Math.min(view.width, state.screen.width));
    const h = Math.max(5, Math.min(view.height, state.screen.height));
    const rect = {
      left: Math.max(0, Math.floor((state.screen.width - w) / 2)),
      top: Math.max(0, Math.floor((state.screen.height - h) / 2)),
      width: w,
      height: h,
    };
    this.place(this.overlay, rect);
    this.overlay.setFront();
    this.setLabel(this.overlay, escapeTags(view.title));
    const inner = w - 2;
    this.setContent(
      this.overlay,
      view.rows
        .slice(0, h - 2)
        .map((r) => this.clip(r, inner))
        .join('\n'),
    );
  }
}
