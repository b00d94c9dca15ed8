/** At most `count` restarts within any `windowMs` (a crash loop stops, one crash does not). */
export class RestartBudget {
    private readonly times: number[] = [];

    constructor(
        private readonly count: number,
        private readonly windowMs: number,
    ) {}

    tryTake(now: number): boolean {
        while (this.times.length > 0 && now - this.times[0] > this.windowMs) {
            this.times.shift();
        }
        if (this.times.length >= this.count) {
            return false;
        }
        this.times.push(now);
        return true;
    }
}
