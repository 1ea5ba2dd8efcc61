// A live line chart (uPlot): created once per mount, fed new data in place, so a refresh redraws
// the lines and never rebuilds the element (no flicker).

import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartProps {
  title: string;
  unit: string;
  t: number[];
  v: number[];
}

const CHART_HEIGHT_PX = 160;

export function LineChart({ title, unit, t, v }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const stroke = getComputedStyle(el).getPropertyValue('--accent').trim() || '#2563eb';
    const axis = getComputedStyle(el).getPropertyValue('--muted').trim() || '#888';
    const u = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height: CHART_HEIGHT_PX,
        legend: { show: false },
        cursor: { show: false },
        series: [{}, { label: title, stroke, width: 2, fill: `${stroke}22` }],
        axes: [
          {
            stroke: axis,
            grid: { stroke: `${axis}22` },
            ticks: { stroke: `${axis}44` },
            space: 90,
            values: (_u, ticks) => ticks.map((seconds) => new Date(seconds * 1000).toLocaleTimeString([], { hour12: false })),
          },
          { stroke: axis, grid: { stroke: `${axis}22` }, ticks: { stroke: `${axis}44` }, size: 60, values: (_u, ticks) => ticks.map(formatNumber) },
        ],
        scales: { y: { range: (_u, min, max) => [Math.min(0, min), Math.max(1, max * 1.1)] } },
      },
      [[], []],
      el,
    );
    plot.current = u;
    const resize = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height: CHART_HEIGHT_PX }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [title]);

  useEffect(() => {
    plot.current?.setData([t, v]);
  }, [t, v]);

  const last = v.length > 0 ? v[v.length - 1]! : undefined;
  const shown = last === undefined ? 'waiting for data' : `${formatNumber(last)} ${unit}`;
  return (
    <figure class="chart" aria-label={`${title}: ${shown}`}>
      <figcaption>
        {title} <span class="muted">{shown}</span>
      </figcaption>
      <div ref={box} class="chart-box" />
    </figure>
  );
}

function formatNumber(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(x < 10 ? 2 : 1);
}
