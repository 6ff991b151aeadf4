// The lifecycle test brings the real-node cluster down and compares the machine with the snapshot
// taken before it came up, so it runs after every other e2e test file.
import Sequencer from '@jest/test-sequencer';

export default class LifecycleLast extends Sequencer {
  sort(tests) {
    const last = (t) => (t.path.endsWith('lifecycle.test.ts') ? 1 : 0);
    return [...tests].sort((a, b) => last(a) - last(b) || a.path.localeCompare(b.path));
  }
}
