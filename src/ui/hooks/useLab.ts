/** The engine as React state: the store's slices and the client that drives the worker. */
import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { LabClient } from '../client';
import type { LabState } from '../store';

export const LabContext = createContext<LabClient | null>(null);

export function useLabClient(): LabClient {
  const client = useContext(LabContext);
  if (!client) throw new Error('useLab: no LabContext provider');
  return client;
}

export function useLab<T>(select: (s: LabState) => T): T {
  return useStore(useLabClient().store, select);
}
