/** One bar per stage of the current load or run, with its ETA; Cancel stops at the next check. */
import type { StageName } from '../../core/pipeline/progress';
import { useLab, useLabClient } from '../hooks/useLab';

const ORDER: StageName[] = ['load', 'nmf', 'project', 'select', 'imageCnn', 'features', 'denoiser', 'classify', 'evaluate', 'attackBaseline', 'attackDefended'];

function eta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '';
  if (seconds < 1) return '<1 s left';
  if (seconds < 90) return `${Math.round(seconds)} s left`;
  return `${Math.round(seconds / 60)} min left`;
}

export function ProgressPanel() {
  const client = useLabClient();
  const stages = useLab((s) => s.stages);
  const current = useLab((s) => s.current);
  const status = useLab((s) => s.status);
  if (status === 'idle' && Object.keys(stages).length === 0) return null;
  const active = status !== 'idle';
  return (
    <section className="card progress" aria-label="Progress" data-testid="progress">
      <div className="row">
        <strong>{status === 'loading' ? 'Loading data' : status === 'running' ? 'Running' : status === 'cancelling' ? 'Cancelling…' : 'Last run'}</strong>
        {active && <button type="button" onClick={() => client.cancel()} disabled={status === 'cancelling'}>Cancel</button>}
      </div>
      {ORDER.filter((s) => stages[s]).map((name) => {
        const e = stages[name]!;
        const fraction = e.total > 0 ? Math.min(1, e.done / e.total) : 0;
        return (
          <div key={name} className={`stage ${name === current && active ? 'stage-current' : ''}`}>
            <span className="stage-name">{name}</span>
            <progress max={1} value={fraction} aria-label={`${name} progress`} />
            <span className="stage-eta">{fraction >= 1 ? 'done' : eta(e.etaSeconds)}</span>
            {e.note && <span className="muted small stage-note">{e.note}</span>}
          </div>
        );
      })}
    </section>
  );
}
