import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { LabClient } from './client';
import { LabContext } from './hooks/useLab';
import { createLabStore } from './store';
import { configFromQuery } from './url';
import './styles.css';

const { config, warnings } = configFromQuery(location.search);
const client = new LabClient(createLabStore(config, warnings));
void client.start();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <LabContext.Provider value={client}>
      <App />
    </LabContext.Provider>
  </StrictMode>,
);
