/** One confusion matrix (true × predicted) per scenario. */
import type { LabView } from '../../core/pipeline/view';
import { ChartCard } from './ChartCard';
import { fmt, orderScenarios, scenarioLabel } from './format';
import './components.css';

function shade(t: number, diagonal: boolean): string {
  const a = Math.max(0, Math.min(1, Number.isFinite(t) ? t : 0));
  // Diagonal (correct) in blue, off-diagonal (errors) in red.
  const [r, g, b] = diagonal ? [37, 99, 235] : [220, 38, 38];
  return `rgba(${r}, ${g}, ${b}, ${(0.08 + 0.72 * a).toFixed(3)})`;
}

function Matrix({ name, m, classNames, attacked }: { name: string; m: number[][]; classNames: string[]; attacked: boolean }) {
  let total = 0;
  let correct = 0;
  m.forEach((row, i) => row.forEach((v, j) => {
    total += v;
    if (i === j) correct += v;
  }));
  return (
    <div className="confusion" data-testid={`confusion-${name}`}>
      <h4>{scenarioLabel(name)}</h4>
      <table className="data-table heatmap">
        <caption>
          {total} {attacked ? 'attacked ' : ''}test images · {correct} correct ({total > 0 ? fmt(correct / total) : '—'})
        </caption>
        <thead>
          <tr>
            <th scope="col" className="left">true ↓ · predicted →</th>
            {classNames.map((c) => (
              <th key={c} scope="col" className="col-head" title={c}>{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {m.map((row, i) => {
            const rowTotal = row.reduce((a, b) => a + b, 0);
            return (
              <tr key={i}>
                <th scope="row" className="left" title={classNames[i]}>{classNames[i] ?? i}</th>
                {row.map((v, j) => {
                  const t = rowTotal > 0 ? v / rowTotal : 0;
                  return (
                    <td
                      key={j}
                      className={i === j ? 'cell diag' : 'cell'}
                      style={{ background: v > 0 ? shade(t, i === j) : '#f8fafc', color: t > 0.6 ? '#fff' : '#0f172a' }}
                      title={`true ${classNames[i] ?? i}, predicted ${classNames[j] ?? j}: ${v} of ${rowTotal}`}
                    >
                      {v}
                    </td>
                  );
                })}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

export interface ConfusionMatricesProps {
  view: LabView;
}

export function ConfusionMatrices({ view }: ConfusionMatricesProps) {
  const names = orderScenarios(Object.keys(view.confusion));
  return (
    <div className="lab-section" data-testid="confusion-matrices">
      <ChartCard
        title="Confusion matrices"
        subtitle="Rows: true class, columns: predicted class; shading by share of the row (blue correct, red errors). Robust scenarios: at the final adversarial inputs."
        exportable={false}
      >
        {names.length === 0 ? (
          <p className="lab-empty">No confusion matrices in this run.</p>
        ) : (
          <div className="confusion-grid">
            {names.map((n) => (
              <Matrix key={n} name={n} m={view.confusion[n]} classNames={view.classNames} attacked={n.startsWith('robust')} />
            ))}
          </div>
        )}
      </ChartCard>
    </div>
  );
}
