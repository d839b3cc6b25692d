/**
 * Serializes work per owner inside this process: a grant, a revoke and the
 * reconciler's push for the same owner never interleave. Owners that are not
 * busy cost nothing; the map only holds owners with work in flight.
 */
export class OwnerLocks {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(ownerId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(ownerId) ?? Promise.resolve();
    const result = previous.then(fn, fn);
    // The tail settles whatever fn does, and forgets the owner once nothing is queued behind it.
    const forget = (): void => {
      if (this.tails.get(ownerId) === tail) this.tails.delete(ownerId);
    };
    const tail: Promise<void> = result.then(forget, forget);
    this.tails.set(ownerId, tail);
    return result;
  }

  get busy(): number {
    return this.tails.size;
  }
}
