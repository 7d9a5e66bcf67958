/** The lab's page: data and settings on the left, what the engine computed on the right. */
import { useLab, useLabClient } from './hooks/useLab';
import { isStale } from './store';
import { BackendBadge } from './components/BackendBadge';
import { DataPanel } from './components/DataPanel';
import { Controls } from './components/Controls';
import { ProgressPanel } from './components/ProgressPanel';
import { ScenarioChart } from './components/ScenarioChart';
import { Traces } from './components/Traces';
import { BasisGrid } from './components/BasisGrid';
import { ActivationHeatmap } from './components/ActivationHeatmap';
import { Rankings } from './components/Rankings';
import { Curves } from './components/Curves';
import { ConfusionMatrices } from './components/ConfusionMatrices';
import { DenoiserScatter } from './components/DenoiserScatter';
import { Timings } from './components/Timings';
import { RunHistory } from './components/RunHistory';

function Messages() {
  const warnings = useLab((s) => s.warnings);
  const error = useLab((s) => s.error);
  const notice = useLab((s) => s.notice);
  return (
    <>
      {warnings.length > 0 && (
        <div className="alert alert-warning" role="status">
          <strong>Some settings in the link were not used:</strong>
          <ul>{warnings.map((w) => <li key={w}>{w}</li>)}</ul>
        </div>
      )}
      {error && <div className="alert alert-error" role="alert" data-testid="error">{error}</div>}
      {notice && <div className="alert" role="status">{notice}</div>}
    </>
  );
}

function Results() {
  const client = useLabClient();
  const view = useLab((s) => s.view);
  const stale = useLab(isStale);
  const partial = useLab((s) => s.partial);
  const running = useLab((s) => s.status !== 'idle');
  if (!view) {
    return <p className="muted empty">Press Run to factorize, select, train, purify and attack. Every number is computed in this browser.</p>;
  }
  return (
    <div className={`results ${stale ? 'results-stale' : ''}`} data-testid="results">
      <div className="row export">
        <span className="muted">
          {view.report.dataset.name} · seed {view.report.config.seed} · {view.report.backend.name}
          {stale && <strong className="stale"> · stale</strong>}
        </span>
        <button type="button" onClick={() => client.exportReport()} data-testid="export-report">report.json</button>
        <button type="button" onClick={() => void client.exportModels()} data-testid="export-models">models (TF.js)</button>
      </div>
      {partial && (
        <div className="alert" role="status" data-testid="partial-notice">
          Clean scenarios are up to date; the robust ones {running ? 'are being computed (attacks running)' : 'were not computed (the run stopped)'}.
        </div>
      )}
      <ScenarioChart view={view} />
      {!partial && <Traces view={view} />}
      <BasisGrid view={view} />
      <div className="two">
        <ActivationHeatmap view={view} />
        <ConfusionMatrices view={view} />
      </div>
      <Rankings view={view} />
      <Curves view={view} />
      <DenoiserScatter view={view} />
      <Timings view={view} />
    </div>
  );
}

export function App() {
  return (
    <div className="app">
      <header className="top">
        <h1>NNMF Robustness Lab</h1>
        <p className="muted tagline">NNMF features → selection → CNN → diffusion purification → AutoAttack, on your own machine.</p>
        <BackendBadge />
      </header>
      <div className="layout">
        <aside>
          <DataPanel />
          <Controls />
          <RunHistory />
        </aside>
        <main>
          <Messages />
          <ProgressPanel />
          <Results />
        </main>
      </div>
    </div>
  );
}
