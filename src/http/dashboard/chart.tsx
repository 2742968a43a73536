// A uPlot time-series chart as a preact component: created once, fed new data on every render, resized with
// its container.

import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  readonly label: string;
  readonly color: string;
}

/** 1500 as 1.5k, 2000000 as 2M: axis labels that fit. */
function compact(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${+(n / 1e9).toFixed(1)}G`;
  if (abs >= 1e6) return `${+(n / 1e6).toFixed(1)}M`;
  if (abs >= 1e3) return `${+(n / 1e3).toFixed(1)}k`;
  return String(+n.toFixed(2));
}

export function Chart(props: {
  title: string;
  series: readonly Series[];
  /** [times in seconds, one array per series]. */
  data: readonly (readonly number[])[];
  unit?: string | undefined;
  testId?: string | undefined;
}): preact.JSX.Element {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  // Built once; data flows in through the effect below.
  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const unit = props.unit ?? '';
    const opts: uPlot.Options = {
      title: props.title,
      width: Math.max(300, el.clientWidth),
      height: 220,
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [{}, { values: (_u, ticks) => ticks.map((t) => `${compact(t)}${unit}`), size: 60 }],
      series: [
        {},
        // Later series dashed, so that equal figures (messages received and sent) stay visible.
        ...props.series.map((s, i) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          fill: `${s.color}22`,
          ...(i > 0 ? { dash: [6, 4] } : {}),
        })),
      ],
    };
    const chart = new uPlot(opts, props.data as uPlot.AlignedData, el);
    plot.current = chart;
    const resize = new ResizeObserver(() =>
      chart.setSize({ width: Math.max(300, el.clientWidth), height: 220 }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, []);

  useEffect(() => {
    plot.current?.setData(props.data as uPlot.AlignedData);
  });

  return <div class="chart" ref={box} data-testid={props.testId} />;
}
