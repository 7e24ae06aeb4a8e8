// Live refresh without hammering: poll the current view on an interval that starts short, doubles each time
// nothing changed (up to a ceiling), never runs faster than a few times the API's own response time, and stops
// while the tab is hidden (one refresh on return). Tuning for tests and benchmarks: sessionStorage
// "imgmig.refresh" = {"baseMs": .., "maxMs": .., "factor": ..}.

const DEFAULTS = { baseMs: 4000, maxMs: 60000, factor: 2, slowFactor: 5 };

function settings() {
  try {
    return { ...DEFAULTS, ...JSON.parse(sessionStorage.getItem("imgmig.refresh") || "{}") };
  } catch {
    return { ...DEFAULTS };
  }
}

export class Refresher {
  /** tick(): Promise<boolean> refreshes the view and says whether anything changed. */
  constructor(tick, report) {
    this.tick = tick;
    this.report = report; // (state) => void, for the status line
    this.config = settings();
    this.interval = this.config.baseMs;
    this.timer = null;
    this.running = false;
    this.again = false;
    this.lastAt = null;
    this.lastError = "";
    document.addEventListener("visibilitychange", () => {
      if (document.hidden) this.stop();
      else this.now();
    });
  }

  /** Refresh at once and start again from the short interval (navigation, a button, an action). */
  now() {
    this.interval = this.config.baseMs;
    this.stop();
    this.run();
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
    if (document.hidden) this.report({ paused: true, lastAt: this.lastAt });
  }

  async run() {
    if (this.running) {
      this.again = true;
      return;
    }
    if (document.hidden) return this.stop();
    this.running = true;
    const started = performance.now();
    let changed = false;
    try {
      changed = await this.tick();
      this.lastError = "";
      this.lastAt = new Date();
    } catch (error) {
      this.lastError = String(error && error.message ? error.message : error);
    }
    const took = performance.now() - started;
    this.running = false;
    if (this.again) {
      this.again = false;
      return this.run();
    }
    const { baseMs, maxMs, factor, slowFactor } = this.config;
    this.interval = changed ? baseMs : Math.min(maxMs, this.interval * factor);
    this.interval = Math.max(this.interval, took * slowFactor);
    this.schedule();
  }

  schedule() {
    clearTimeout(this.timer);
    if (document.hidden) return this.stop();
    this.timer = setTimeout(() => this.run(), this.interval);
    this.report({ paused: false, lastAt: this.lastAt, nextMs: this.interval, error: this.lastError });
  }
}
