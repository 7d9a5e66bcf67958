/**
 * The run history kept in this browser (IndexedDB): every run with its status and headline
 * figures; show, resume, export or delete one; import a run file. An interrupted run (the page was
 * reloaded, the worker died) is offered for resuming from its last finished stage.
 */
import { useRef } from 'react';
import type { RunRecord } from '../../persist/runs';
import { useLab, useLabClient } from '../hooks/useLab';
import { STAGE_LABELS, fmt } from './format';

function when(t: number): string {
  return new Date(t).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

function lastStage(r: RunRecord): string {
  const s = r.stagesDone[r.stagesDone.length - 1];
  return s ? (STAGE_LABELS[s] ?? s) : 'no stage';
}

export function RunHistory() {
  const client = useLabClient();
  const runs = useLab((s) => s.runs);
  const viewRunId = useLab((s) => s.viewRunId);
  const busy = useLab((s) => s.status !== 'idle');
  const storage = useLab((s) => s.engine.info?.storage);
  const importer = useRef<HTMLInputElement>(null);
  const interrupted = runs.find((r) => r.status === 'interrupted');

  return (
    <section className="card" aria-label="Run history" data-testid="run-history">
      <h2>Runs</h2>
      {storage?.kind === 'none' && <p className="muted">This browser keeps no history here ({storage.reason}); runs live in memory only.</p>}
      {interrupted && (
        <div className="alert alert-warning" role="status" data-testid="interrupted-run">
          A run on {interrupted.datasetName} ({when(interrupted.createdAt)}) was interrupted after {lastStage(interrupted)}.{' '}
          <button type="button" disabled={busy} onClick={() => void client.resumeRun(interrupted.id)} data-testid="resume-interrupted">Resume</button>
        </div>
      )}
      {runs.length === 0 ? (
        <p className="muted">Finished runs are kept in this browser and listed here.</p>
      ) : (
        <ul className="run-list">
          {runs.map((r) => (
            <li key={r.id} className={r.id === viewRunId ? 'run-current' : ''} data-testid="run-row" data-run-id={r.id} data-status={r.status}>
              <div>
                <strong>{r.datasetName}</strong> · rank {r.config.nmf.rank} · t {r.config.diffusion.timestep} · ε {r.config.attack.eps}
                {' '}<span className={`badge run-${r.status}`}>{r.status}</span>
                {r.importedFrom && <span className="muted"> · imported</span>}
              </div>
              <div className="muted">
                {when(r.createdAt)} · clean {fmt(r.accuracy.cleanBaseline)} / defended {fmt(r.accuracy.cleanDefended)} · robust {fmt(r.accuracy.robustBaseline)} / {fmt(r.accuracy.robustDefended)}
                {r.error && <> · {r.error}</>}
              </div>
              <div className="row">
                {r.status === 'complete' && <button type="button" disabled={busy} onClick={() => void client.openRun(r.id)} data-testid="run-show">Show</button>}
                {r.status !== 'complete' && r.status !== 'running' && (
                  <button type="button" disabled={busy} onClick={() => void client.resumeRun(r.id)} data-testid="run-resume">Resume</button>
                )}
                {r.status === 'complete' && <button type="button" onClick={() => void client.exportRun(r.id)} data-testid="run-export">Export</button>}
                {r.status !== 'running' && <button type="button" onClick={() => void client.deleteRun(r.id)} data-testid="run-delete">Delete</button>}
              </div>
            </li>
          ))}
        </ul>
      )}
      <label className="button">
        Import a run…
        <input
          ref={importer} type="file" accept=".zip,application/zip" hidden data-testid="run-import"
          onChange={(e) => {
            const f = e.target.files?.[0];
            if (f) void client.importRun(f);
            if (importer.current) importer.current.value = '';
          }}
        />
      </label>
    </section>
  );
}
