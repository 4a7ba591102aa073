import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { api, ApiError } from '../api';
import type { Latest } from '../latest';
import { appendLive, queryFor, queryString, ranges, toColumns, type RangeId, type Series } from '../series';

const palette = ['#1f6feb', '#d4731a', '#1a7f37', '#8250df', '#cf222e', '#0a7ea4'];

/**
 * A time-series chart of a device's numeric keys over a chosen range: raw values for short ranges (extended live
 * as values arrive), averages per bucket computed by the server for long ones. Drag to zoom, double-click to reset.
 */
export function DeviceChart({ deviceId, keys, latest }: { deviceId: string; keys: readonly string[]; latest: Latest }) {
  const [range, setRange] = useState<RangeId>('1h');
  const [data, setData] = useState<Series | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [query, setQuery] = useState(() => queryFor(3_600_000, Date.now()));
  const keyList = keys.join(',');

  useEffect(() => {
    const ms = ranges.find((r) => r.id === range)?.ms ?? 3_600_000;
    const q = queryFor(ms, Date.now());
    setQuery(q);
    setData(null);
    if (keyList === '') return;
    let stale = false;
    api.get<{ data: Series }>(queryString(deviceId, keyList.split(','), q)).then(
      (r) => {
        if (!stale) setData(r.data);
      },
      (e: unknown) => {
        setError(e instanceof ApiError ? e.message : String(e));
      },
    );
    return () => {
      stale = true;
    };
  }, [deviceId, keyList, range]);

  // Raw ranges follow the live values; an aggregated range is a snapshot until the range is chosen again.
  useEffect(() => {
    if (query.agg !== 'none') return;
    setData((d) => d && appendLive(d, latest, Date.now() - (query.to - query.from)));
  }, [latest, query]);

  return (
    <div className="card chart">
      <div className="toolbar">
        <label className="muted small">
          Range{' '}
          <select
            value={range}
            onChange={(e) => {
              setRange(e.target.value as RangeId);
            }}
          >
            {ranges.map((r) => (
              <option key={r.id} value={r.id}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        <span className="muted small">{query.agg === 'none' ? 'raw values, live' : `average per ${Math.round((query.interval ?? 0) / 1000)} s`}</span>
      </div>
      {error !== null && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {data ? <Plot data={data} keys={keyList.split(',')} from={query.from} live={query.agg === 'none'} /> : <p className="muted small">Loading…</p>}
    </div>
  );
}

/** Draws the columns over the whole range asked for (up to now when live), unless the user zoomed in. */
function Plot({ data, keys, from, live }: { data: Series; keys: string[]; from: number; live: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const zoomed = useRef(false);
  const span = useRef({ from, live });
  span.current = { from, live };
  const fit = (p: uPlot) => {
    if (zoomed.current) return;
    const times = p.data[0];
    const last = times.length > 0 ? (times[times.length - 1] ?? 0) : 0;
    p.setScale('x', {
      min: span.current.from / 1000,
      max: span.current.live ? Math.max(Date.now() / 1000, last) : Math.max(last, span.current.from / 1000 + 1),
    });
  };
  const columns = toColumns(data, keys);
  const signature = keys.join(',');

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: el.clientWidth || 600,
      height: 260,
      series: [{}, ...keys.map((k, i) => ({ label: k, stroke: palette[i % palette.length] ?? '#1f6feb', width: 1.5, spanGaps: true }))],
      axes: [
        { stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.15)' } },
        { stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.15)' } },
      ],
      cursor: { drag: { x: true, y: false } },
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width > 0) zoomed.current = true;
          },
        ],
      },
    };
    const p = new uPlot(opts, columns, el);
    plot.current = p;
    fit(p);
    // A double click resets uPlot's zoom; back to the whole range.
    const reset = () => {
      zoomed.current = false;
      fit(p);
    };
    el.addEventListener('dblclick', reset);
    const resize = new ResizeObserver(() => {
      p.setSize({ width: el.clientWidth, height: 260 });
    });
    resize.observe(el);
    return () => {
      el.removeEventListener('dblclick', reset);
      resize.disconnect();
      p.destroy();
      plot.current = null;
    };
    // The plot is made again only when the keys change; new data goes through setData below.
  }, [signature]);

  useEffect(() => {
    const p = plot.current;
    if (!p) return;
    // Zoomed in: the new data keeps the user's scales; otherwise y fits the data and x the whole range.
    p.setData(columns, !zoomed.current);
    fit(p);
  });

  return <div ref={box} className="plot" data-testid="chart" data-points={columns[0].length} />;
}
