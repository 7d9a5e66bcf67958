/**
 * Is a busy worker still alive? Its progress events say so (`alive()`); when they stop for
 * `pingAfterMs`, it is pinged, and a ping unanswered for `timeoutMs` means it is gone (closed by the
 * browser, or hung on a lost device): `onSilent` is called once and the watch ends.
 */
export interface WatchdogOptions {
  ping: () => Promise<unknown>;
  onSilent: (why: string) => void;
  pingAfterMs: number;
  timeoutMs: number;
  /** How often silence is checked. */
  tickMs?: number;
}

export class Watchdog {
  private timer: ReturnType<typeof setInterval> | null = null;
  private last = 0;
  private pinging = false;

  constructor(private readonly opts: WatchdogOptions) {}

  start(): void {
    this.stop();
    this.last = Date.now();
    this.timer = setInterval(() => void this.check(), this.opts.tickMs ?? 1000);
  }

  alive(): void {
    this.last = Date.now();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.pinging = false;
  }

  private async check(): Promise<void> {
    const { ping, onSilent, pingAfterMs, timeoutMs } = this.opts;
    if (this.pinging || Date.now() - this.last < pingAfterMs) return;
    this.pinging = true;
    const timer = this.timer;
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs));
    const answered = await Promise.race([ping().then(() => true, () => false), timeout]);
    // Stopped or restarted while the ping was out: this answer is about an older watch.
    if (this.timer !== timer || timer === null) return;
    this.pinging = false;
    if (answered) this.last = Date.now();
    else {
      this.stop();
      onSilent(`the worker stopped responding for ${timeoutMs / 1000} s`);
    }
  }
}
