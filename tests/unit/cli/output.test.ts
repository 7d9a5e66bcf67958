import { describe, expect, it } from 'vitest';
import { timingTable } from '../../../src/cli/output';

describe('timingTable', () => {
  const timings = { nmf: 18, project: 8, imageCnn: 49, classify: 12 };
  const totalLine = (table: string) => table.split('\n').at(-1)!;

  it('totals the main line without the stages that ran beside it', () => {
    expect(totalLine(timingTable(timings, [], ['imageCnn']))).toMatch(/^total\s+38\.00 s$/);
  });

  it("takes the run's wall clock as the total when given, since the main line may have waited for the second thread", () => {
    // NMF and projection take 26 s, the image CNN beside them 49 s: the classifier starts at 49 s at the earliest.
    const table = timingTable(timings, [], ['imageCnn'], 61.5);
    expect(totalLine(table)).toMatch(/^total\s+61\.50 s {2}\(wall clock\)$/);
    expect(table).toMatch(/imageCnn\s+49\.00 s {2}\(second thread, overlapped\)/);
  });
});
