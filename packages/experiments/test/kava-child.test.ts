// The trainings of a grid pin what decides their rounding, so that a backbone retrained on a fresh
// machine can be the recorded one.
import { childEnvFor } from '../src/kava-child.js';

describe('childEnvFor: the rounding a rebuilt backbone depends on is pinned', () => {
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
