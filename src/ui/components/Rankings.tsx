/**
 * Per-component selection statistics (training split): AUC, |Cohen's d| and −log10 p as bar charts,
 * selected components in a different color, then a sortable table.
 */
import { useState } from 'react';
import { Bar, BarChart, CartesianGrid, Rectangle, ReferenceLine, Tooltip, XAxis, YAxis, type BarShapeProps } from 'recharts';
import type { LabView } from '../../core/pipeline/view';
import type { ComponentStats } from '../../core/types';
import { ChartCard } from './ChartCard';
import { NO_ANIMATION, finiteOrNull, fmt, fmtP, fmtTick } from './format';
import './components.css';

const SELECTED = '#2563eb';
const UNSELECTED = '#cbd5e1';

interface Row {
  name: string;
  index: number;
  rank: number;
  auc: number | null;
  cohensD: number | null;
  absD: number | null;
  pValue: number;
  anovaP?: number;
  logP: number | null;
  logPCapped: boolean;
  selected: boolean;
}

/** p = 0 (below float precision) has no finite −log10: its bar is drawn at `cap`, above every finite one. */
function toRow(c: ComponentStats, selected: Set<number>, cap: number): Row {
  const p = c.pValue;
  const capped = p === 0;
  const logP = capped ? cap : p > 0 && Number.isFinite(p) ? -Math.log10(p) : null;
  return {
    name: `#${c.index}`, index: c.index, rank: c.rank, auc: finiteOrNull(c.auc), cohensD: finiteOrNull(c.cohensD),
    absD: finiteOrNull(Math.abs(c.cohensD)), pValue: p, anovaP: c.anovaP, logP, logPCapped: capped, selected: c.selected || selected.has(c.index),
  };
}

function ColoredBar(props: BarShapeProps) {
  const { x, y, width, height, payload } = props;
  const sel = (payload as Row | undefined)?.selected;
  return <Rectangle x={x} y={y} width={width} height={height} fill={sel ? SELECTED : UNSELECTED} stroke={sel ? '#1d4ed8' : '#94a3b8'} strokeWidth={0.5} />;
}

type Key = 'index' | 'rank' | 'auc' | 'cohensD' | 'absD' | 'pValue' | 'anovaP' | 'selected';

function sortValue(r: Row, key: Key): number {
  const v = key === 'selected' ? (r.selected ? 1 : 0) : r[key];
  return typeof v === 'number' && !Number.isNaN(v) ? v : Number.NEGATIVE_INFINITY;
}

interface StatChartProps {
  title: string;
  subtitle: string;
  data: Row[];
  dataKey: keyof Row;
  yLabel: string;
  domain?: [number | 'auto' | 'dataMin' | 'dataMax', number | 'auto' | 'dataMin' | 'dataMax'];
  reference?: { y: number; label: string };
  testId: string;
  format: (r: Row) => string;
}

function StatChart({ title, subtitle, data, dataKey, yLabel, domain, reference, testId, format }: StatChartProps) {
  return (
    <ChartCard title={title} subtitle={subtitle} testId={testId}>
      <BarChart data={data} responsive style={{ width: '100%', height: 220 }} margin={{ top: 8, right: reference ? 52 : 12, bottom: 4, left: 4 }} accessibilityLayer>
        <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" vertical={false} />
        <XAxis dataKey="name" tick={{ fontSize: 11 }} interval={0} />
        <YAxis domain={domain ?? [0, 'auto']} tickFormatter={fmtTick} tick={{ fontSize: 11 }} width={48}
          label={{ value: yLabel, angle: -90, position: 'insideLeft', style: { fontSize: 11, fill: '#475569', textAnchor: 'middle' } }} />
        <Tooltip
          cursor={{ fill: 'rgba(148, 163, 184, 0.15)' }}
          content={({ active, payload }) => {
            const r = active && payload && payload[0] ? (payload[0].payload as Row) : null;
            if (!r) return null;
            return (
              <div className="card small" style={{ padding: '6px 10px' }}>
                <strong>component {r.index}</strong> {r.selected ? '(selected)' : '(not selected)'}
                <br />
                {format(r)}
                <br />
                rank {r.rank}
              </div>
            );
          }}
        />
        {reference && (
          <ReferenceLine y={reference.y} stroke="#64748b" strokeDasharray="4 3"
            label={{ value: reference.label, position: 'right', fontSize: 10.5, fill: '#475569' }} />
        )}
        <Bar dataKey={dataKey as string} name={yLabel} shape={ColoredBar} {...NO_ANIMATION} />
      </BarChart>
    </ChartCard>
  );
}

export interface RankingsProps {
  view: LabView;
}

export function Rankings({ view }: RankingsProps) {
  const { report } = view;
  const selected = new Set(report.selection.selected);
  const finiteLogP = report.selection.components.map((c) => c.pValue).filter((p) => p > 0 && Number.isFinite(p)).map((p) => -Math.log10(p));
  const cap = Math.max(10, ...finiteLogP) * 1.15;
  const rows = [...report.selection.components].sort((a, b) => a.index - b.index).map((c) => toRow(c, selected, cap));
  const multiClass = view.classNames.length > 2;
  const hasAnova = rows.some((r) => r.anovaP !== undefined);
  const alpha = report.config.select.alpha;
  const anyCapped = rows.some((r) => r.logPCapped);
  const [sort, setSort] = useState<{ key: Key; dir: 1 | -1 }>({ key: 'rank', dir: 1 });

  const sorted = [...rows].sort((a, b) => sort.dir * (sortValue(a, sort.key) - sortValue(b, sort.key)) || a.index - b.index);
  const columns: { key: Key; label: string }[] = [
    { key: 'index', label: 'component' },
    { key: 'rank', label: 'rank' },
    { key: 'auc', label: 'AUC' },
    { key: 'cohensD', label: "Cohen's d" },
    { key: 'absD', label: '|d|' },
    { key: 'pValue', label: multiClass ? 'Welch p (mean)' : 'Welch p' },
    ...(hasAnova ? [{ key: 'anovaP' as Key, label: 'ANOVA p' }] : []),
    { key: 'selected', label: 'selected' },
  ];
  const toggle = (key: Key) =>
    setSort((s) => (s.key === key ? { key, dir: s.dir === 1 ? -1 : 1 } : { key, dir: key === 'index' || key === 'rank' || key === 'pValue' || key === 'anovaP' ? 1 : -1 }));

  const which = multiClass ? 'one-vs-rest average over classes' : `${view.classNames[1] ?? 'class 1'} vs ${view.classNames[0] ?? 'class 0'}`;
  const topRule = report.config.select.top === 'auto'
    ? `kept: every component with ${hasAnova ? 'ANOVA' : 'Welch'} p < ${alpha} (at least ${report.config.select.minSelected})`
    : `kept: the ${report.config.select.top} best by aggregate rank`;

  return (
    <div className="lab-section" data-testid="rankings">
      <div className="note" style={{ marginTop: 0 }}>
        <span className="swatch" style={{ background: SELECTED }} aria-hidden="true" />selected
        <span className="swatch" style={{ background: UNSELECTED, marginLeft: 14 }} aria-hidden="true" />not selected
        <span className="muted"> · training split, {which} · {topRule} · aggregate rank = mean of the three ranks</span>
      </div>
      <div className="card-grid">
        <StatChart title="ROC-AUC per component" subtitle="Mann–Whitney AUC; 0.5 = no separation" data={rows} dataKey="auc" yLabel="AUC"
          domain={[0, 1]} reference={{ y: 0.5, label: 'chance' }} testId="ranking-auc" format={(r) => `AUC ${fmt(r.auc)}`} />
        <StatChart title="|Cohen's d| per component" subtitle="Effect size (absolute value)" data={rows} dataKey="absD" yLabel="|d|"
          testId="ranking-d" format={(r) => `d ${fmt(r.cohensD)}`} />
        <StatChart
          title="−log10 p per component"
          subtitle={`Log scale: −log10 of the Welch t-test p${multiClass ? ' (mean one-vs-rest)' : ''}; higher = more significant; dashed line at p = ${alpha}${anyCapped ? `; p = 0 (below float precision) drawn above the largest bar` : ''}`}
          data={rows} dataKey="logP" yLabel="−log10 p" reference={{ y: -Math.log10(alpha), label: `p = ${alpha}` }} testId="ranking-p"
          format={(r) => `p ${fmtP(r.pValue)} (−log10 p ${r.logPCapped ? 'off the scale' : fmt(r.logP, 2)})`}
        />
      </div>
      <ChartCard title="Component statistics" subtitle="Click a column header to sort." exportable={false} testId="ranking-table">
        <table className="data-table">
          <thead>
            <tr>
              {columns.map((c) => (
                <th key={c.key} scope="col" aria-sort={sort.key === c.key ? (sort.dir === 1 ? 'ascending' : 'descending') : 'none'}>
                  <button type="button" className="sort-button" onClick={() => toggle(c.key)}>
                    {c.label}
                    {sort.key === c.key ? (sort.dir === 1 ? ' ▲' : ' ▼') : ''}
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {sorted.map((r) => (
              <tr key={r.index} className={r.selected ? 'selected-row' : undefined} data-testid="ranking-row">
                <td>#{r.index}</td>
                <td>{r.rank}</td>
                <td>{fmt(r.auc)}</td>
                <td>{fmt(r.cohensD)}</td>
                <td>{fmt(r.absD)}</td>
                <td>{fmtP(r.pValue)}</td>
                {hasAnova && <td>{fmtP(r.anovaP)}</td>}
                <td>{r.selected ? <span className="badge selected">yes</span> : <span className="muted">no</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </ChartCard>
    </div>
  );
}
