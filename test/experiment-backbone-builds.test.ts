// The replication's stage-1 backbones are not committed, so a fresh machine retrains them. The
// experiment's trainings pin what decides their rounding (scripts/lib/kava-runs.mjs), so that a
// retrained backbone can be the committed one; and the report must say when a stage-2 run did not
// start from its seed's committed build, or a paired comparison with that seed's other runs would
// compare two backbones without saying so (scripts/lib/replication-report.mjs).
// @ts-expect-error: a plain .mjs script module without type declarations
import { otherBuilds } from '../scripts/lib/replication-report.mjs';
// @ts-expect-error: a plain .mjs script module without type declarations
import { childEnvFor } from '../scripts/lib/kava-runs.mjs';

const stage1 = [
  { method: 'stage1-full-cot', traces: 'equation', seed: 1, accuracy: 0.685 }, // recorded before fingerprints
  { method: 'stage1-full-cot', traces: 'nl', seed: 0, accuracy: 0.6325, sha256: 'aaa' },
];
const run = (method: string, traces: string, seed: number, backbone?: object) => ({ method, traces, seed, backbone });

describe('replication report: which build of its backbone a stage-2 run started from', () => {
  it('runs from the committed build, or recorded before fingerprints, are not named', () => {
    expect(
      otherBuilds(stage1, [
        run('codi', 'equation', 1), // no record: made from the committed build
        run('kava-rkv', 'equation', 1, { teacherAccuracy: 0.685, sha256: 'x' }), // no committed hash: same teacher
        run('pccot', 'nl', 0, { teacherAccuracy: 0.6325, sha256: 'aaa' }),
      ]),
    ).toEqual([]);
  });

  it('a rebuild is named with both teachers, by hash where the committed build has one', () => {
    const lines = otherBuilds(stage1, [
      run('kava-keydiff', 'equation', 1, { teacherAccuracy: 0.593, sha256: 'x' }),
      // Same teacher accuracy by chance, other weights: the hash decides.
      run('kava-random', 'nl', 0, { teacherAccuracy: 0.6325, sha256: 'bbb' }),
    ]);
    expect(lines).toEqual([
      "kava-keydiff, equation, seed 1: from a rebuild of its backbone (teacher 59.3 %; the committed build's 68.5 %)",
      "kava-random, nl, seed 0: from a rebuild of its backbone (teacher 63.2 %; the committed build's 63.2 %)",
    ]);
  });
});

describe('experiment trainings: the rounding a rebuilt backbone depends on is pinned', () => {
  it('one OpenBLAS kernel set on x86-64 and one BLAS thread, unless the user chose', () => {
    expect(childEnvFor({ PATH: '/bin' }, 'x64')).toEqual({
      PATH: '/bin',
      OPENBLAS_CORETYPE: 'Zen',
      KAVA_BLAS_THREADS: '1',
    });
    expect(childEnvFor({}, 'arm64')).toEqual({ KAVA_BLAS_THREADS: '1' });
    // The user's own choices win: a kernel set, or a thread count under any of its three names.
    expect(childEnvFor({ OPENBLAS_CORETYPE: 'SkylakeX' }, 'x64').OPENBLAS_CORETYPE).toBe('SkylakeX');
    expect(childEnvFor({ OPENBLAS_NUM_THREADS: '2' }, 'x64')).toEqual({
      OPENBLAS_NUM_THREADS: '2',
      OPENBLAS_CORETYPE: 'Zen',
    });
    expect(childEnvFor({ KAVA_BLAS_THREADS: '2' }, 'x64').KAVA_BLAS_THREADS).toBe('2');
  });
});
