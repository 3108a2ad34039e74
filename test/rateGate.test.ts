import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JobSlots, RateGate } from '../src/coralnet/rateGate.js';

/** Largest number of stamps inside any half-open span of `periodMs`. */
function busiestWindow(stamps: number[], periodMs: number): number {
  let most = 0;
  for (let i = 0; i < stamps.length; i++) {
    let n = 0;
    for (let j = i; j < stamps.length && stamps[j]! - stamps[i]! < periodMs; j++) n++;
    most = Math.max(most, n);
  }
  return most;
}

test('requests pass in order and never more than the limit within any window', async () => {
  const gate = new RateGate({ windows: [{ limit: 4, periodMs: 200 }, { limit: 10, periodMs: 1000 }] });
  const passed: Array<{ i: number; at: number }> = [];
  await Promise.all(
    Array.from({ length: 14 }, (_, i) =>
      gate.pass().then((pass) => {
        passed.push({ i, at: Date.now() });
        pass.answered();
      }),
    ),
  );
  assert.deepEqual(passed.map((p) => p.i), Array.from({ length: 14 }, (_, i) => i));
  const stamps = passed.map((p) => p.at);
  assert.ok(busiestWindow(stamps, 200) <= 4, `burst ${busiestWindow(stamps, 200)}`);
  assert.ok(busiestWindow(stamps, 1000) <= 10, `sustained ${busiestWindow(stamps, 1000)}`);
  assert.equal(busiestWindow(stamps, 200), 4, 'the window is used to the full');
});

test('usage tells how full each window is, and delayMs when the next request may go', async () => {
  const gate = new RateGate({ windows: [{ limit: 3, periodMs: 10_000 }] });
  assert.equal(gate.delayMs(), 0);
  for (let i = 0; i < 3; i++) (await gate.pass()).answered();
  assert.deepEqual(gate.usage(), [{ limit: 3, periodMs: 10_000, used: 3 }]);
  assert.ok(gate.delayMs() > 9_000);
});

test('a request in flight counts in the window until its answer comes, then from the answer on', async () => {
  const gate = new RateGate({ windows: [{ limit: 2, periodMs: 300 }] });
  const first = await gate.pass();
  const second = await gate.pass();
  let third = false;
  const waiting = gate.pass().then((pass) => {
    third = true;
    return pass;
  });
  await new Promise((resolve) => setTimeout(resolve, 400));
  assert.equal(third, false, 'two requests without answers fill the window however long they take');
  first.answered();
  const answeredAt = Date.now();
  second.answered();
  const pass = await waiting;
  assert.ok(Date.now() - answeredAt >= 295, `waited ${Date.now() - answeredAt} ms after the answer`);
  pass.answered();
});

test('a pause holds every request, and a shorter pause does not shorten it', async () => {
  const gate = new RateGate({ windows: [{ limit: 100, periodMs: 1000 }] });
  gate.pause(300);
  gate.pause(50);
  const started = Date.now();
  await gate.pass();
  assert.ok(Date.now() - started >= 290);
});

test('an aborted wait rejects and lets the requests behind it through', async () => {
  const gate = new RateGate({ windows: [{ limit: 1, periodMs: 60_000 }] });
  (await gate.pass()).answered();
  const controller = new AbortController();
  const waiting = gate.pass(controller.signal);
  controller.abort(new Error('stopped by the user'));
  await assert.rejects(waiting, /stopped by the user/);
  assert.equal(gate.usage()[0]!.used, 1);
});

test('job slots: at most the limit at once, released slots go to the waiting deploys in order', async () => {
  const slots = new JobSlots(2);
  await slots.acquire();
  await slots.acquire();
  const order: number[] = [];
  const third = slots.acquire().then(() => order.push(3));
  const fourth = slots.acquire().then(() => order.push(4));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(order, []);
  assert.equal(slots.active, 2);
  slots.release();
  await third;
  assert.deepEqual(order, [3]);
  slots.setLimit(3);
  await fourth;
  assert.deepEqual(order, [3, 4]);
  assert.equal(slots.active, 3);
});

test('job slots: waitForRelease says whether a job finished in time', async () => {
  const slots = new JobSlots(1);
  slots.occupy();
  assert.equal(await slots.waitForRelease(20), false);
  const waiting = slots.waitForRelease(5000);
  slots.release();
  assert.equal(await waiting, true);
  assert.equal(slots.active, 0);
});
