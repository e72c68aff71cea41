// The experiment scripts run their trainings through one pool (scripts/lib/kava-runs.mjs). A
// stage-2 run cannot start before its backbone is trained; a core that is free while the other
// trains a backbone must take a run that can go, not sit waiting on that backbone for the ~20–50
// minutes it takes.
// @ts-expect-error: a plain .mjs script module without type declarations
import { pool } from '../scripts/lib/kava-runs.mjs';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('experiment pool: a free worker takes an item that can go', () => {
  it('takes a run that can go before one that would wait on a backbone still in training', async () => {
    const order: string[] = [];
    let backboneBuilt = false;
    let built: () => void = () => {};
    const backbone = new Promise<void>((r) => (built = r));
    const task = async (item: { id: string; needsBackbone?: boolean }) => {
      order.push(`start ${item.id}`);
      if (item.needsBackbone) await backbone; // as a stage-2 run awaits its stage-1 model
      await tick();
      if (item.id === 'backbone') {
        await tick();
        backboneBuilt = true;
        built();
      }
      order.push(`end ${item.id}`);
    };
    const ready = (item: { needsBackbone?: boolean }) => !item.needsBackbone || backboneBuilt;
    await pool([{ id: 'backbone' }, { id: 'run-a', needsBackbone: true }, { id: 'run-b' }], 2, task, ready);
    // The second worker trained run-b while the backbone was in training, instead of waiting in run-a.
    expect(order.slice(0, 2)).toEqual(['start backbone', 'start run-b']);
    expect(order).toContain('end run-a');
  });

  it('takes the first item when none is ready, so nothing is left behind', async () => {
    const order: string[] = [];
    await pool(
      ['a', 'b', 'c'],
      1,
      async (x: string) => void order.push(x),
      () => false,
    );
    expect(order).toEqual(['a', 'b', 'c']);
  });
});
