/**
 * A fixed number of slots, taken without waiting: `take()` gives a release function, or nothing
 * when every slot is taken (the caller comes back later instead of holding a worker while it waits).
 */
export class Slots {
  private taken = 0;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`Slots size must be a positive integer, got ${size}`);
  }

  get free(): number {
    return this.size - this.taken;
  }

  take(): (() => void) | undefined {
    if (this.taken >= this.size) return undefined;
    this.taken++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.taken--;
    };
  }
}
