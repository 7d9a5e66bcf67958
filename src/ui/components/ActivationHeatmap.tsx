/** Components × classes heatmap of the mean L2-normalized training activation. */
import type { LabView } from '../../core/pipeline/view';
import { ChartCard } from './ChartCard';
import { fmt } from './format';
import './components.css';

/** White → deep blue for t in [0, 1]. */
function heat(t: number): string {
  const a = Math.max(0, Math.min(1, Number.isFinite(t) ? t : 0));
  const r = Math.round(255 + (30 - 255) * a);
  const g = Math.round(255 + (64 - 255) * a);
  const b = Math.round(255 + (175 - 255) * a);
  return `rgb(${r}, ${g}, ${b})`;
}

export interface ActivationHeatmapProps {
  view: LabView;
}

export function ActivationHeatmap({ view }: ActivationHeatmapProps) {
  const { classMeans, classNames } = view;
  const selected = new Set(view.report.selection.selected);
  let max = 0;
  for (const row of classMeans) for (const v of row) if (Number.isFinite(v)) max = Math.max(max, v);

  return (
    <div className="lab-section" data-testid="activation-heatmap">
      <ChartCard
        title="Mean activation per component and class"
        subtitle="Training split, L2-normalized activations; color scaled to the largest mean. Selected components marked on the left."
        exportable={false}
      >
        {classMeans.length === 0 ? (
          <p className="lab-empty">No activations in this run.</p>
        ) : (
          <>
            <table className="data-table heatmap">
              <caption className="sr-only">Mean training activation, rows: components, columns: classes</caption>
              <thead>
                <tr>
                  <th scope="col">component</th>
                  {classNames.map((c) => (
                    <th key={c} scope="col" className="col-head" title={c}>{c}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {classMeans.map((row, k) => (
                  <tr key={k} className={selected.has(k) ? 'selected-row' : undefined}>
                    <th scope="row" className="left">
                      #{k} {selected.has(k) && <span className="badge selected">sel</span>}
                    </th>
                    {row.map((v, c) => {
                      const t = max > 0 ? v / max : 0;
                      return (
                        <td
                          key={c}
                          className="cell"
                          style={{ background: heat(t), color: t > 0.55 ? '#fff' : '#0f172a' }}
                          title={`component ${k}, ${classNames[c] ?? c}: ${fmt(v, 4)}`}
                        >
                          {fmt(v)}
                        </td>
                      );
                    })}
                  </tr>
                ))}
              </tbody>
            </table>
            <div className="heat-legend" aria-hidden="true">
              <span>0</span>
              <span className="bar" />
              <span>{fmt(max)}</span>
            </div>
          </>
        )}
      </ChartCard>
    </div>
  );
}
