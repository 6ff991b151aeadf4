// The lifecycle test brings the real-node cluster down and compares the machine with the snapshot
// taken before it came up, so it runs after every other e2e test file. Otherwise Jest's own order.
import Sequencer from '@jest/test-sequencer';

export default class LifecycleLast extends Sequencer {
  async sort(tests) {
    const ordered = await super.sort(tests);
    const last = (t) => t.path.endsWith('lifecycle.test.ts');
    return [...ordered.filter((t) => !last(t)), ...ordered.filter(last)];
  }
}
