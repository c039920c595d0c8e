/**
 * TreeEvents: every subscriber is told every change, they run side by side (their hand-offs to
 * the fs worker travel together), and one that fails is logged without keeping the others from
 * their data or turning the write into an error.
 */
import { expect } from 'chai';
import { TreeEvents, type TreeChange } from '../../../src/storage/events.js';

const created: TreeChange[] = [{ type: 'created', path: '/a', isCollection: false }];

describe('tree events', () => {
  it('runs the listeners side by side and waits for all of them', async () => {
    const events = new TreeEvents();
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    events.subscribe(async () => {
      order.push('slow start');
      await gate;
      order.push('slow end');
    }, 'slow');
    events.subscribe(() => {
      order.push('fast');
    }, 'fast');
    let done = false;
    const p = events.publish(created).then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    expect(order, 'the second listener does not wait for the first').to.deep.equal(['slow start', 'fast']);
    expect(done, 'publish waits for the slow one').to.equal(false);
    release();
    await p;
    expect(order).to.deep.equal(['slow start', 'fast', 'slow end']);
  });

  it('logs a failing listener by name and still tells the others', async () => {
    const logged: string[] = [];
    const events = new TreeEvents((err, name) => logged.push(`${name}: ${(err as Error).message}`));
    const seen: TreeChange[][] = [];
    events.subscribe(async () => {
      throw new Error('disk full');
    }, 'broken');
    events.subscribe((changes) => void seen.push([...changes]), 'kept');
    await events.publish(created);
    expect(logged).to.deep.equal(['broken: disk full']);
    expect(seen).to.deep.equal([created]);
  });

  it('tells nobody about no change', async () => {
    const events = new TreeEvents();
    let calls = 0;
    events.subscribe(() => void calls++);
    await events.publish([]);
    expect(calls).to.equal(0);
  });
});
