/**
 * Measures what one message costs the pipeline's announce step as a chat
 * grows: one publish per member topic through Redis (as in the distributed
 * mode), delivered to one listener per member on another connection (as a
 * gateway holding every member's subscription would). Prints, per group
 * size, the median and p99 time from the first publish until every member's
 * listener has the event, and the events per second that makes.
 *
 *   node --import tsx scripts/measure-fanout.ts [redis-url]
 *
 * The figures behind the group member limit: docs/GROUPS.md.
 */
import { createEventBus, Topics } from '@chat/common';

const url = process.argv[2] ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const sizes = [2, 16, 64, 256, 1024, 4096];
const ROUNDS = 30;

const bus = createEventBus(url);
const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!;

console.log('members  median ms  p99 ms  deliveries/s');
for (const size of sizes) {
  const run = `${Date.now()}-${size}`;
  const members = Array.from({ length: size }, (_, i) => `${run}-${i}`);
  let pending = 0;
  let done: () => void = () => {};
  const ids = await Promise.all(
    members.map((member) =>
      bus.pubsub.subscribe(
        Topics.userEvents(member),
        () => {
          pending -= 1;
          if (pending === 0) done();
        },
        {},
      ),
    ),
  );
  const event = { type: 'MessageAdded', chatId: '1', message: { id: '1', text: 'x'.repeat(200) } };
  const timings: number[] = [];
  for (let round = 0; round < ROUNDS + 3; round++) {
    pending = size;
    const delivered = new Promise<void>((resolve) => (done = resolve));
    const started = performance.now();
    await Promise.all(members.map((member) => bus.pubsub.publish(Topics.userEvents(member), event)));
    await delivered;
    if (round >= 3) timings.push(performance.now() - started); // the first rounds warm up connections and the JIT
  }
  for (const id of ids) bus.pubsub.unsubscribe(id);
  const median = percentile(timings, 0.5);
  console.log(
    `${String(size).padStart(7)}  ${median.toFixed(2).padStart(9)}  ${percentile(timings, 0.99).toFixed(2).padStart(6)}  ${Math.round(
      (size / median) * 1000,
    )
      .toString()
      .padStart(12)}`,
  );
}
await bus.close();
