/**
 * Server timestamps that never collide. A value sent without a ts is stamped with the arrival time in
 * milliseconds, and a second value of the same (device, key, ts) replaces the first: a device sending faster than
 * one message per millisecond (or a message holding several entries without ts) would be acknowledged for values
 * then overwritten. So each device's server stamps strictly increase: an entry gets the arrival time, or one
 * millisecond after the device's previous stamp when that is not earlier. A sustained rate above 1,000 entries
 * without ts per second and device therefore runs ahead of the clock (such devices should send their own ts).
 *
 * Kept in memory: after a restart stamps start again from the clock, which has moved on by then, unless a device
 * had run ahead of it by more than the restart took.
 */
export class ServerStamps {
  private readonly last = new Map<string, number>();

  /** The stamp of a device's next entry without ts, received at `receivedAt`. */
  next(deviceId: string, receivedAt: number): number {
    const previous = this.last.get(deviceId);
    const stamp = previous === undefined || receivedAt > previous ? receivedAt : previous + 1;
    this.last.set(deviceId, stamp);
    return stamp;
  }

  forget(deviceId: string): void {
    this.last.delete(deviceId);
  }
}
