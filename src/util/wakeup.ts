/*
 * wakeup - one reader waiting for input that an event handler delivers:
 * wait() resolves when wake() is called or the time limit passes. Used by
 * the framed IPC connection and smtpd's input buffer, whose data handlers
 * wake the one read in progress.
 */

/** A single waiter, woken by the producer or by its deadline. */
export class Wakeup {
  private waiter: (() => void) | undefined;

  /** Resolves true when woken, false when timeoutMs passed first. */
  async wait(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const woken = await new Promise<boolean>((resolve) => {
      this.waiter = () => resolve(true);
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    clearTimeout(timer);
    this.waiter = undefined;
    return woken;
  }

  /** Wakes the waiter, if any. */
  wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}
