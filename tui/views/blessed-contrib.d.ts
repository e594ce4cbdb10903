/** The little of blessed-contrib the TUI uses (the package ships no types). */
declare module 'blessed-contrib' {
  import type { Widgets } from 'blessed';

  interface LineSeries {
    title: string;
    x: string[];
    y: number[];
    style?: { line?: string };
  }

  interface LineOptions extends Widgets.BoxOptions {
    showLegend?: boolean;
    minY?: number;
    maxY?: number;
    wholeNumbersOnly?: boolean;
    numYLabels?: number;
    xLabelPadding?: number;
    xPadding?: number;
    style?: { line?: string; text?: string; baseline?: string };
  }

  interface LineElement extends Widgets.BoxElement {
    setData(data: LineSeries[]): void;
  }

  const contrib: {
    line(options: LineOptions): LineElement;
  };
  export default contrib;
  export type { LineElement, LineSeries };
}
