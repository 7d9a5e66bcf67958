/** Choose an embedded data set or drop a folder; counts per class and split, skipped files, samples. */
import { useState, type DragEvent } from 'react';
import { baseConfig } from '../url';
import { fromDataTransfer, fromFileList } from '../folderInput';
import { useLab, useLabClient } from '../hooks/useLab';
import { GrayImage } from './GrayImage';

export function DataPanel() {
  const client = useLabClient();
  const dataset = useLab((s) => s.config.data.dataset);
  const folder = useLab((s) => s.folder);
  const summary = useLab((s) => s.summary);
  // Loading a data set can be superseded by another; a training run cannot.
  const running = useLab((s) => s.status === 'running' || s.status === 'cancelling');
  const [over, setOver] = useState(false);

  const choose = (name: string) => {
    if (name.startsWith('folder:')) {
      client.setConfig((c) => ({ ...c, data: { ...c.data, dataset: name } }));
      return;
    }
    // An embedded set brings its paper's defaults (digits: rank 40, 70/15/15, hybrid classifier).
    client.setConfig((c) => ({ ...baseConfig(name), seed: c.seed, backend: c.backend }));
  };
  const onDrop = async (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    if (running) return;
    const picked = await fromDataTransfer(e.dataTransfer);
    if (picked.files.length > 0) await client.setFolder(picked.name, picked.files);
  };

  return (
    <section className="card" aria-label="Data">
      <h2>Data</h2>
      <label>
        data set{' '}
        <select value={dataset} disabled={running} onChange={(e) => choose(e.target.value)} data-testid="dataset-select">
          <option value="mri-demo">mri-demo (Colin27 anatomy, synthesized tumors)</option>
          <option value="digits">digits (10,000 MNIST digits)</option>
          {folder && <option value={`folder:${folder.name}`}>{folder.name} (your folder, {folder.files} files)</option>}
          {dataset.startsWith('folder:') && !folder && <option value={dataset}>{dataset.slice(7)} (drop it again)</option>}
        </select>
      </label>
      <div
        className={`dropzone ${over ? 'dropzone-over' : ''}`}
        onDragOver={(e) => { e.preventDefault(); setOver(true); }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
        data-testid="dropzone"
      >
        <p>Drop an image folder here: <code>folder/&lt;class&gt;/*.png|jpg|bmp|webp</code>, or <code>Training/</code> and <code>Testing/</code> at the top.</p>
        <label className="button">
          Choose a folder…
          <input
            type="file"
            multiple
            // @ts-expect-error: webkitdirectory is not in React's input attributes
            webkitdirectory=""
            disabled={running}
            data-testid="folder-input"
            onChange={async (e) => {
              const list = e.target.files;
              if (list && list.length > 0) {
                const picked = fromFileList(list);
                e.target.value = '';
                await client.setFolder(picked.name, picked.files);
              }
            }}
          />
        </label>
        <p className="muted small">Images are decoded in this browser and never leave your machine.</p>
      </div>
      {summary && (
        <div data-testid="data-summary">
          <table className="counts">
            <thead><tr><th>class</th><th>train</th><th>val</th><th>test</th></tr></thead>
            <tbody>
              {summary.classNames.map((c, k) => (
                <tr key={c}><td>{c}</td><td>{summary.counts.train[k]}</td><td>{summary.counts.val[k]}</td><td>{summary.counts.test[k]}</td></tr>
              ))}
            </tbody>
          </table>
          <p className="muted small">
            {summary.size}×{summary.size} gray · split {summary.splitSource === 'folders' ? 'from Training/ and Testing/' : 'seeded, stratified'}
          </p>
          {summary.skipped.length > 0 && (
            <details className="skipped" data-testid="skipped-files" open={summary.skipped.length <= 5}>
              <summary>{summary.skipped.length} file(s) skipped</summary>
              <ul>{summary.skipped.map((s) => <li key={s.file}><code>{s.file}</code>: {s.reason}</li>)}</ul>
            </details>
          )}
          <div className="samples">
            {Array.from({ length: summary.samples.count }, (_, i) => (
              <GrayImage key={i} images={summary.samples} index={i} scale={48 / summary.size} label={summary.classNames[summary.samples.labels[i]]} testId="sample-image" />
            ))}
          </div>
        </div>
      )}
    </section>
  );
}
