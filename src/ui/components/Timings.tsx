/** Seconds per pipeline stage (reused stages marked), the total and the backend that ran them. */
import type { LabView } from '../../core/pipeline/view';
import type { StageName } from '../../core/pipeline/progress';
import { ChartCard } from './ChartCard';
import { STAGE_LABELS, STAGE_ORDER, fmtPct, fmtSeconds } from './format';
import './components.css';

const BACKEND_LABELS: Record<string, string> = {
  webgpu: 'WebGPU',
  webgl: 'WebGL',
  wasm: 'WASM (CPU)',
  cpu: 'CPU (plain JavaScript)',
};

export interface TimingsProps {
  view: LabView;
}

export function Timings({ view }: TimingsProps) {
  const { timings, reused, backend } = view.report;
  const reusedSet = new Set<string>(reused);
  const keys = Object.keys(timings) as StageName[];
  const stages = [...STAGE_ORDER.filter((s) => s in timings || reusedSet.has(s)), ...keys.filter((k) => !STAGE_ORDER.includes(k))];
  const seconds = (s: StageName) => {
    const v = timings[s];
    return typeof v === 'number' && Number.isFinite(v) ? v : 0;
  };
  const total = stages.reduce((a, s) => a + seconds(s), 0);
  const longest = stages.reduce((a, s) => Math.max(a, seconds(s)), 0);

  return (
    <div className="lab-section" data-testid="timings">
      <ChartCard title="Time per stage" subtitle="Seconds spent computing each stage in this run; reused stages came from the stage cache (0 s)." exportable={false}>
        <p className="backend-line" data-testid="timings-backend">
          Backend: <strong>{BACKEND_LABELS[backend.name] ?? backend.name}</strong>
          {backend.adapter ? <> · adapter: {backend.adapter}</> : null}
          <span className="muted"> · {backend.reason}</span>
        </p>
        <table className="data-table">
          <thead>
            <tr>
              <th scope="col">stage</th>
              <th scope="col">seconds</th>
              <th scope="col">share</th>
              <th scope="col" className="time-bar-cell">
                <span className="sr-only">bar</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {stages.map((s) => {
              const v = seconds(s);
              const isReused = reusedSet.has(s);
              return (
                <tr key={s} data-testid={`timing-row-${s}`}>
                  <th scope="row" className="left">
                    {STAGE_LABELS[s] ?? s} {isReused && <span className="badge reused">reused</span>}
                  </th>
                  <td>{isReused ? '—' : fmtSeconds(v)}</td>
                  <td>{total > 0 && !isReused ? fmtPct(v / total) : ''}</td>
                  <td className="time-bar-cell" aria-hidden="true">
                    {longest > 0 && v > 0 && <span className="time-bar" style={{ width: `${Math.max(1, (100 * v) / longest)}%` }} />}
                  </td>
                </tr>
              );
            })}
          </tbody>
          <tfoot>
            <tr>
              <td className="left">total</td>
              <td data-testid="timings-total">{fmtSeconds(total)}</td>
              <td />
              <td />
            </tr>
          </tfoot>
        </table>
        <p className="note">
          Seconds measured in this browser on the backend above; compare CPU and GPU runs by forcing the backend in the settings and running again.
        </p>
      </ChartCard>
    </div>
  );
}
